"""Each canned query answers what the sources say. Expected rows are written by hand from
the source article and FACTS.md, never computed by the code under test."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import pytest

from eusdp.catalog import Catalog
from eusdp.store import Store

Run = Callable[..., list[dict[str, object]]]


def column(rows: list[dict[str, object]], name: str) -> list[object]:
    return [row[name] for row in rows]


def test_partners_in_nato(run: Run) -> None:
    rows = run("partners-in-nato")
    assert [(r["partnerLabel"], r["joined"], r["foundingMember"]) for r in rows] == [
        ("Canada", "1949-04-04", "true"),
        ("Norway", "1949-04-04", "true"),
        ("United Kingdom", "1949-04-04", "true"),
        ("Albania", "2009-04-01", "false"),
        ("North Macedonia", "2020-03-27", "false"),
    ]


def test_partners_in_nato_never_repeats_a_country_because_of_a_link(run: Run) -> None:
    partners = column(run("partners-in-nato"), "partner")
    assert len(partners) == len(set(partners)) == 5


def test_timeline_in_signing_order(run: Run) -> None:
    rows = run("partnerships-timeline")
    assert [(r["partnerLabel"], r["signingDate"]) for r in rows] == [
        ("Moldova", "2024-05-21"),
        ("Norway", "2024-05-28"),
        ("Japan", "2024-11-01"),
        ("South Korea", "2024-11-04"),
        ("North Macedonia", "2024-11-19"),
        ("Albania", "2024-12-18"),
        ("United Kingdom", "2025-05-19"),
        ("Canada", "2025-06-23"),
        ("India", "2026-01-27"),
    ]


def test_timeline_keeps_albanias_adoption_date_and_the_order_the_article_states(
    run: Run,
) -> None:
    rows = {r["partnerLabel"]: r for r in run("partnerships-timeline")}
    assert rows["Albania"]["adoptionDate"] == "2024-11-19"
    assert [label for label, r in rows.items() if r["adoptionDate"]] == ["Albania"]
    assert rows["Moldova"]["sequenceNumber"] == "1"  # "the first country to sign"
    assert rows["Norway"]["sequenceNumber"] == "2"
    assert rows["United Kingdom"]["placeLabel"] == "Lancaster House, London"


@pytest.mark.parametrize(
    ("year", "partners"),
    [
        ("2024", ["Moldova", "Norway", "Japan", "South Korea", "North Macedonia", "Albania"]),
        ("2025", ["United Kingdom", "Canada"]),
        ("2026", ["India"]),
        ("2023", []),
    ],
)
def test_partnerships_in_year(run: Run, year: str, partners: list[str]) -> None:
    assert column(run("partnerships-in-year", year=year), "partnerLabel") == partners


@pytest.mark.parametrize(
    ("area", "partners"),
    [
        ("critical-infrastructure", ["Norway", "South Korea", "United Kingdom"]),
        ("underwater-infrastructure", ["Norway"]),
        ("military-mobility", ["Canada", "United Kingdom"]),
        ("women-peace-and-security", ["Canada"]),
        (
            "hybrid-threats",
            ["Albania", "Canada", "Japan", "Moldova", "North Macedonia", "Norway",
             "South Korea", "United Kingdom"],
        ),
        ("human-trafficking", ["Moldova"]),
    ],
)  # fmt: skip
def test_partners_by_area_includes_narrower_areas(run: Run, area: str, partners: list[str]) -> None:
    rows = run("partners-by-area", area=f"https://w3id.org/eusdp/id/area/{area}")
    assert column(rows, "partnerLabel") == partners


def test_partners_by_area_default_is_critical_infrastructure(run: Run) -> None:
    assert column(run("partners-by-area"), "partnerLabel") == [
        "Norway", "South Korea", "United Kingdom"
    ]  # fmt: skip


ARTICLE_AREAS = {
    "moldova": {"border-management", "crisis-management", "counter-terrorism",
                "human-trafficking", "organised-crime", "cybersecurity", "disinformation"},
    "norway": {"maritime-security", "critical-infrastructure", "underwater-infrastructure",
               "space-security", "cybersecurity", "hybrid-threats", "counter-terrorism"},
    "japan": {"maritime-security", "space-security", "cybersecurity", "hybrid-threats",
              "counter-terrorism", "defence-industry"},
    "south-korea": {"crisis-management", "peacekeeping", "maritime-security", "space-security",
                    "cybersecurity", "hybrid-threats", "counter-terrorism", "economic-security"},
    "canada": {"crisis-management", "defence-industry", "hybrid-threats", "military-mobility"},
    "albania": set(),
    "north-macedonia": set(),
    "united-kingdom": set(),
    "india": set(),
}  # fmt: skip


@pytest.mark.parametrize("country", sorted(ARTICLE_AREAS))
def test_areas_by_partner_as_the_article_lists_them(run: Run, country: str) -> None:
    rows = run("areas-by-partner", country=f"https://w3id.org/eusdp/id/country/{country}")
    in_article = {str(r["area"]).removeprefix("area/") for r in rows if r["inArticle"] == "true"}
    assert in_article == ARTICLE_AREAS[country]


def test_areas_by_partner_official_lists(run: Run) -> None:
    nm = run("areas-by-partner", country="https://w3id.org/eusdp/id/country/north-macedonia")
    assert {str(r["area"]).removeprefix("area/") for r in nm if r["inOfficialText"] == "true"} == {
        "crisis-management", "support-to-ukraine", "hybrid-threats", "cybersecurity",
        "training-and-capacity-building", "counter-terrorism", "border-management",
    }  # fmt: skip
    # Albania: press reports give the same seven areas as North Macedonia.
    al = run("areas-by-partner", country="https://w3id.org/eusdp/id/country/albania")
    assert {r["area"] for r in al} == {r["area"] for r in nm}
    india = run("areas-by-partner", country="https://w3id.org/eusdp/id/country/india")
    assert india == []  # no source lists India's areas: the graph does not invent them


def test_areas_by_partner_works_on_asserted_data_alone(run: Run) -> None:
    rows = run("areas-by-partner", infer=False, country="https://w3id.org/eusdp/id/country/canada")
    assert len(rows) == 17  # the EEAS text's thirteen headings name 17 areas of the scheme


def test_area_coverage_most_first(run: Run) -> None:
    rows = run("area-coverage")
    counts = {str(r["area"]).removeprefix("area/"): int(str(r["partnerships"])) for r in rows}
    # Named by all eight partnerships of the article (India's areas are not known).
    for area in ("cybersecurity", "hybrid-threats", "counter-terrorism", "crisis-management"):
        assert counts[area] == 8, area
    assert counts["maritime-security"] == 5  # Norway, Japan, South Korea, UK, Canada
    assert counts["critical-infrastructure"] == 3  # Norway, South Korea, UK
    assert counts["military-mobility"] == 2  # UK, Canada
    assert counts["women-peace-and-security"] == 1  # Canada
    numbers = [int(str(r["partnerships"])) for r in rows]
    assert numbers == sorted(numbers, reverse=True)


def test_eu_candidate_partners_with_dates(run: Run) -> None:
    rows = run("eu-candidate-partners")
    assert [(r["partnerLabel"], r["candidateSince"]) for r in rows] == [
        ("North Macedonia", "2005-12"),
        ("Albania", "2014-06"),
        ("Moldova", "2022-06-23"),
    ]


def test_asian_partners(run: Run) -> None:
    rows = run("asian-partners")
    assert [(r["partnerLabel"], r["orderInRegion"]) for r in rows] == [
        ("Japan", "1"),  # "the first Asian country to sign"
        ("South Korea", "2"),
    ]


def test_partners_with_us_alliance(run: Run) -> None:
    rows = run("partners-with-us-alliance")
    assert [(r["partnerLabel"], r["treatyLabel"], r["treatySigned"]) for r in rows] == [
        ("South Korea", "US–ROK Mutual Defense Treaty", "1953-10-01"),
        ("Japan", "US–Japan Treaty of Mutual Cooperation and Security", "1960-01-19"),
    ]


def test_eu_defence_milestones(run: Run) -> None:
    rows = {r["milestoneLabel"]: r for r in run("eu-defence-milestones")}
    assert rows["Common Foreign and Security Policy"]["when"] == "1993"
    assert rows["European Security Strategy"]["when"] == "2003"
    assert rows["European Security Strategy"]["replacedByLabel"] == "European Union Global Strategy"
    assert rows["European Union Global Strategy"]["when"] == "2016"
    assert rows["Strategic Compass"]["when"] == "2022"
    assert rows["European Political Cooperation"]["replacedBy"] == "milestone/cfsp"
    for name in (
        "Permanent Structured Cooperation",
        "Coordinated Annual Review on Defence",
        "European Defence Fund",
        "Military Planning and Conduct Capability",
        "Directorate-General for Defence Industry and Space",
    ):
        assert (rows[name]["when"], rows[name]["approximate"]) == ("2016", "true"), name
    for name in ("Western Union", "European Defence Community", "Treaty of Lisbon",
                 "Common Security and Defence Policy", "mutual defence clause"):  # fmt: skip
        assert name in rows
    assert len(rows) == 15


#: FACTS.md section 1, status V, that the graph has an entity for.
WIKIDATA = {
    "Moldova": "Q217", "Norway": "Q20", "Japan": "Q17", "South Korea": "Q884",
    "Albania": "Q222", "North Macedonia": "Q221", "United Kingdom": "Q145", "Canada": "Q16",
    "United States": "Q30", "India": "Q668", "Iceland": "Q189", "Ghana": "Q117",
    "Australia": "Q408", "European Union": "Q458", "NATO": "Q7184",
    "European Economic Area": "Q8932", "European Defence Agency": "Q1134173",
    "European External Action Service": "Q672941", "Council of the European Union": "Q8896",
    "Foreign Affairs Council": "Q973809", "European Commission": "Q8880",
    "European Council": "Q8886", "Western Union": "Q7988404", "Kaja Kallas": "Q11869065",
}  # fmt: skip


def test_wikidata_links_are_exactly_the_verified_items(run: Run) -> None:
    rows = run("wikidata-links")
    links = {r["entityLabel"]: str(r["item"]) for r in rows}
    assert links == {k: f"http://www.wikidata.org/entity/{v}" for k, v in WIKIDATA.items()}
    assert len(rows) == len(links)  # no entity twice


def test_partner_profile_is_a_graph_about_the_country(store: Store, catalog: Catalog) -> None:
    query = catalog.get("partner-profile")
    assert query.query_type == "construct"
    result = store.query(query.text, bindings=query.bind({}))  # default: Japan
    assert isinstance(result, ox.QueryTriples)
    text = result.serialize(format=ox.RdfFormat.N_TRIPLES).decode()
    assert "<https://w3id.org/eusdp/id/country/japan>" in text
    assert '"2024-11-01"^^<http://www.w3.org/2001/XMLSchema#date>' in text
    assert "<https://w3id.org/eusdp/id/region/asia>" in text
    assert "<https://w3id.org/eusdp/id/organisation/quad>" in text
    assert "<https://w3id.org/eusdp/id/country/moldova>" not in text


def test_unconfirmed_reports_are_never_partnerships(run: Run) -> None:
    rows = run("unconfirmed-reports")
    assert [(r["countryLabel"], r["reportedDate"]) for r in rows] == [
        ("Iceland", "2026-03-18"),
        ("Ghana", "2026-03-24"),
    ]
    partners = column(run("partnerships-timeline"), "partnerLabel")
    assert "Iceland" not in partners and "Ghana" not in partners
