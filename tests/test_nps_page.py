"""The NPS page's marts on hand-made fixtures, and the sample build's planted effects and hostile comment."""

import math

import nbformat
import pandas as pd
import pytest
import yaml

from conftest import SAMPLE_PERIOD, customer, order, write_exports
from retention_report import execute, warehouse
from retention_report.params import load_params
from retention_report.periods import parse_period

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def answer(rid, cid, when, score, comment="", would_buy=""):
    return {"response_id": rid, "customer_id": cid, "responded_at": when, "score": str(score),
            "would_buy_again": would_buy, "comment": comment}


def test_comments_are_redacted_and_themed_by_whole_words(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer("c1", name="Ann Lee", email="ann@x.org"), customer("c2", name="Bo Park"),
                   customer("c3", name="José Núñez-Ortiz"), customer("c4", name="Name Email")],
        orders=[order("o1", "c1", "2024-04-02")],
        nps_responses=[
            answer("r1", "c1", "2024-04-05", 3, "Rude staff. Ann Lee, ann.lee@example.com, +44 7700 900123"),
            answer("r2", "c2", "2024-04-06", 2, HOSTILE + " mail hostile@example.com"),
            answer("r3", "", "2024-04-07", 7, "Several errors in my bill"),
            answer("r4", "c2", "2024-04-08", 10, "Great"),  # a promoter: not among the reasons
            answer("r5", "c2", "2024-03-08", 1, "Too expensive"),  # before the period
            # The name in another case, alone or in parts, twice in a row; a longer word holding it stays.
            answer("r6", "c1", "2024-04-09", 5, "ann here. ANN LEE from Leeds, Lee Lee. Call (020) 7946 0958"),
            answer("r7", "c3", "2024-04-10", 6, "josé núñez-ortiz; JOSÉ; Núñez-Ortiz"),
            answer("r8", "c4", "2024-04-11", 6, "name EMAIL: email me, name@email.org"),  # placeholders stay whole
        ],
    )
    rows = con.execute("SELECT score, themes, comment FROM nps_comments ORDER BY comment_number").fetchall()
    assert rows == [
        (3, "staff and rudeness", "Rude staff. [name], [email], [phone]"),
        (2, "", "<script>alert(1)</script><img src=x onerror=alert(2)> mail [email]"),  # "onerror" is no error
        (7, "mistakes and errors", "Several errors in my bill"),
        (5, "", "[name] here. [name] from Leeds, [name] [name]. Call [phone]"),
        (6, "", "[name]; [name]; [name]"),
        (6, "", "[name]: [name] me, [email]"),
    ]
    themes = dict(con.execute("SELECT theme, unhappy_comments FROM nps_themes").fetchall())
    assert themes["staff and rudeness"] == 1 and themes["mistakes and errors"] == 1 and themes["price"] == 0


def test_retention_after_answering_leaves_out_open_windows(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c) for c in ("p", "d", "late", "x")],
        orders=[order("o1", "p", "2024-01-10"), order("o2", "p", "2024-03-01"),  # 50 days after: retained
                order("o3", "d", "2024-01-10"), order("o4", "d", "2024-09-01"),  # 234 days after: not retained
                order("o5", "x", "2024-10-01")],  # the data end: 2024-10-01
        nps_responses=[answer("r1", "p", "2024-01-11", 10), answer("r2", "d", "2024-01-11", 4),
                       answer("r3", "late", "2024-06-20", 9),  # 180-day window not over by 2024-10-01
                       answer("r4", "", "2024-01-11", 0)],  # anonymous: no retention link
    )
    rows = {(g, h): (n, k, out) for g, h, n, k, out in con.execute("SELECT * FROM nps_retention").fetchall()}
    assert rows[("promoter", 90)] == (2, 1, 0)
    assert rows[("promoter", 180)] == (1, 1, 1)
    assert rows[("detractor", 180)] == (1, 0, 0)


def test_followup_lists_detractors_nobody_contacted_within_the_window(build_warehouse):
    touch = lambda tid, cid, when: {"touchpoint_id": tid, "customer_id": cid, "occurred_at": when, "kind": "support_reply"}
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c, name=c.upper()) for c in ("a", "b", "c", "d")],
        orders=[order("o1", "a", "2024-04-01")],
        nps_responses=[answer("r1", "a", "2024-04-05 10:00:00", 3), answer("r2", "b", "2024-04-05 10:00:00", 5),
                       answer("r3", "c", "2024-04-05 10:00:00", 8), answer("r4", "d", "2024-04-05 10:00:00", 6)],
        touchpoints=[touch("t1", "a", "2024-04-07"), touch("t2", "b", "2024-04-13"), touch("t3", "d", "2024-04-01")],
    )
    assert con.execute("SELECT customer_id, name FROM nps_followup_list ORDER BY customer_id").fetchall() == [
        ("b", "B"), ("d", "D")]
    assert con.execute("SELECT detractors_without_followup FROM nps_participation").fetchone() == (2,)


def test_sample_promoters_stay_longer_than_detractors(sample_site):
    stay = pd.read_csv(sample_site.build_dir / "data" / "nps_retention.csv")
    six = stay[stay.horizon_days == 180].set_index("score_group")
    assert six.loc["promoter", "ci_low"] > six.loc["detractor", "ci_high"]


def test_sample_trend_and_summary_agree(sample_site):
    data = sample_site.build_dir / "data"
    trend = pd.read_csv(data / "nps_trend.csv", dtype={"month": str})
    assert list(trend.columns) == ["month", "responses", "nps", "ci_low", "ci_high"] and len(trend) == 24
    assert trend.month.iloc[-1] == "2024-06"
    summary = pd.read_csv(data / "nps_summary.csv").iloc[0]
    assert trend.tail(3).responses.sum() == summary.responses


def test_the_hostile_comment_is_escaped_and_redacted_on_the_page_and_in_the_csv(sample_site):
    page = (sample_site.site / SAMPLE_PERIOD / "nps.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script>alert(1)" not in page and "hostile@example.com" not in page
    csv = (sample_site.site / SAMPLE_PERIOD / "data" / "nps_comments.csv").read_text(encoding="utf-8")
    assert HOSTILE in csv and "hostile@example.com" not in csv and "[email]" in csv
    followup = sample_site.site.parent / "private" / SAMPLE_PERIOD / "detractor_followup.csv"
    assert "@" in followup.read_text() and not (sample_site.site / SAMPLE_PERIOD / "detractor_followup.csv").exists()


def test_the_followup_list_is_private_and_nowhere_in_the_site(sample_site):
    followup = pd.read_csv(sample_site.site.parent / "private" / SAMPLE_PERIOD / "detractor_followup.csv", dtype=str)
    participation = pd.read_csv(sample_site.build_dir / "data" / "nps_participation.csv").iloc[0]
    assert len(followup) == participation.detractors_without_followup > 0
    assert list(followup.columns) == ["response_id", "customer_id", "name", "email", "phone", "responded_at", "score"]
    site = "".join(f.read_text(encoding="utf-8", errors="replace") for f in sample_site.site.rglob("*")
                   if f.is_file() and f.suffix in (".html", ".csv", ".json", ".md"))
    assert not [e for e in followup.email.dropna() if e in site]
    assert not [n for n in followup.name.dropna() if n in site]
    assert not list(sample_site.site.rglob("*followup*"))


def test_the_methodology_page_names_the_interval_method_and_its_source(sample_site):
    page = (sample_site.site / SAMPLE_PERIOD / "methodology.html").read_text(encoding="utf-8")
    assert "adjusted Wald" in page and "Rocks (2016)" in page
    assert "Interval estimation for the Net Promoter Score" in page and "The American Statistician 70:365-372" in page
    assert "0.75 detractors, 1.5 passives and 0.75 promoters" in page


def test_anonymous_answers_count_in_nps_but_link_to_no_one(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c, name=c.upper() + "name", plan=p) for c, p in (("a", "basic"), ("b", "plus"), ("c", "basic"))],
        orders=[order("o1", "a", "2024-04-02"), order("o2", "c", "2024-05-02"),
                order("o3", "b", "2024-04-03", status="refunded")],  # b is not active: not surveyed
        nps_responses=[answer("r1", "a", "2024-04-05", 9), answer("r2", "b", "2024-04-06", 3),
                       answer("r3", "", "2024-04-07", 0), answer("r4", "", "2024-04-08", 10),
                       answer("r5", "a", "2024-04-09", 8),
                       # Not 0-10 scores: set aside by staging, in no count.
                       answer("r6", "a", "2024-04-10", 11), answer("r7", "", "2024-04-10", -1),
                       answer("r8", "c", "2024-04-10", "7.5")],
    )
    assert sorted(con.execute("SELECT row, reason FROM set_aside WHERE export = 'nps_responses'").fetchall()) == [
        (6, "score outside 0-10"), (7, "score outside 0-10"), (8, "score is not an integer")]
    counts = con.execute("SELECT responses, promoters, passives, detractors FROM nps_period_counts "
                         "WHERE period_role = 'current'").fetchone()
    assert counts == (5, 2, 1, 2)
    scores = dict(con.execute("SELECT score, responses FROM nps_scores").fetchall())
    assert (scores[0], scores[3], scores[8], scores[9], scores[10], sum(scores.values())) == (1, 1, 1, 1, 1, 5)
    plan = con.execute("SELECT sum(responses) FROM nps_segments WHERE segment_column = 'plan'").fetchone()
    assert plan == (3,)  # identified answers only
    assert con.execute("SELECT response_id FROM nps_followup_list").fetchall() == [("r2",)]
    # Response rate: of the 2 active customers (a, c), a answered (twice); b answered but was not surveyed and
    # the anonymous answers cannot be tied to anyone, so neither raises the rate.
    assert con.execute("SELECT surveyed_basis, customers_surveyed, answering_customers, answers, anonymous_answers "
                       "FROM nps_participation").fetchone() == ("active customers", 2, 1, 5, 2)


def test_response_rate_counts_survey_touchpoints_when_there_are_any(build_warehouse):
    survey = lambda tid, cid, when: {"touchpoint_id": tid, "customer_id": cid, "occurred_at": when, "kind": "survey"}
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c) for c in ("a", "b", "c", "d")],
        orders=[order(f"o{c}", c, "2024-04-02") for c in ("a", "b", "c", "d")],
        nps_responses=[answer("r1", "a", "2024-04-05", 9), answer("r2", "d", "2024-04-06", 3)],
        touchpoints=[survey("t1", "a", "2024-04-01"), survey("t2", "b", "2024-04-01"), survey("t3", "c", "2024-03-20")],
    )
    # Surveyed in the period: a and b (c's survey was before it); d answered without a survey touchpoint.
    assert con.execute("SELECT surveyed_basis, customers_surveyed, answering_customers FROM nps_participation"
                       ).fetchone() == ("survey touchpoints", 2, 1)


@pytest.fixture
def nps_page(tmp_path):
    """Build a warehouse from tiny exports and run the NPS notebook on it, as a build does; returns the page's
    markdown (every output, joined), its data folder and the private folder."""

    def _run(period="2024-Q2", **exports):
        data = write_exports(tmp_path / "data", **exports)
        params = load_params()
        path = warehouse.build_warehouse(tmp_path / "warehouse.duckdb", data, parse_period(period), params)
        params_file = tmp_path / "params.yaml"
        params_file.write_text(yaml.safe_dump(dict(params, data_first_day="", data_last_day="")), encoding="utf-8")
        output = tmp_path / "20_nps.ipynb"
        execute.run_notebook(execute.NOTEBOOKS_DIR / "20_nps.ipynb", output, {
            "period": period, "warehouse": str(path), "params_file": str(params_file),
            "output_dir": str(tmp_path / "page"), "private_dir": str(tmp_path / "private")})
        markdown = [o["data"]["text/markdown"] for cell in nbformat.read(output, as_version=4).cells
                    for o in cell.get("outputs", []) if "text/markdown" in o.get("data", {})]
        return "\n".join(markdown), tmp_path / "page" / "data", tmp_path / "private"

    return _run


def test_page_with_too_few_answers_says_so_and_keeps_comments_inert(nps_page):
    customers = [customer("a", name="Ann Lee", email="ann@x.org"), customer("b", name="Bo Park", phone="+44 7700 900123")]
    orders = [order("o1", "a", "2024-01-05"), order("o2", "b", "2024-04-05"), order("o3", "a", "2024-12-30")]
    markdown, data, private = nps_page(
        customers=customers, orders=orders,
        nps_responses=[answer("r1", "a", "2024-04-10", 9, would_buy="yes"),
                       answer("r2", "", "2024-04-11", 3, "rude staff", would_buy="no"),  # anonymous: counts in NPS
                       answer("r3", "b", "2024-05-10", 6, HOSTILE + " bo park, bo@y.org", would_buy="unsure"),
                       answer("r4", "a", "2024-01-10", 10)])
    # 1 promoter, 0 passives, 2 detractors; adjusted Wald (Rocks 2016): n~ = 6, p~P = 1.75/6, p~D = 2.75/6.
    summary = pd.read_csv(data / "nps_summary.csv").iloc[0]
    assert (summary.responses, summary.promoters, summary.passives, summary.detractors) == (3, 1, 0, 2)
    pp, pd_ = 1.75 / 6, 2.75 / 6
    half = 1.96 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 6)
    assert summary.nps == pytest.approx(-100 / 3)
    assert (summary.ci_low, summary.ci_high) == pytest.approx((100 * (pp - pd_ - half), 100 * (pp - pd_ + half)))
    assert "NPS for 2024-Q2 is **-33**" in markdown and "**too few answers to judge**" in markdown
    assert set(pd.read_csv(data / "nps_segments.csv").judgement) == {"too few to judge"}
    assert set(pd.read_csv(data / "nps_retention.csv").judgement) == {"too few to judge"}
    assert pd.read_csv(data / "nps_change.csv").judgement.tolist() == ["too few to judge"]
    assert "nan" not in markdown.lower()
    # The comment is shown as text, without the customer's name or address, in the page and in the CSV.
    assert r"&lt;script&gt;alert\(1\)&lt;/script&gt;" in markdown and "<script>alert" not in markdown
    comments = pd.read_csv(data / "nps_comments.csv")
    assert comments.comment.tolist() == ["rude staff", HOSTILE + " [name], [email]"]
    everything = markdown + "".join(f.read_text(encoding="utf-8") for f in data.glob("*.csv"))
    assert not any(s in everything.lower() for s in ("bo park", "bo@y.org", "ann lee", "ann@x.org", "7700"))
    # The follow-up list (identified detractors only) is private, never among the page's tables.
    followup = pd.read_csv(private / "detractor_followup.csv")
    assert followup.response_id.tolist() == ["r3"] and followup.phone.tolist() == ["+44 7700 900123"]
    participation = pd.read_csv(data / "nps_participation.csv").iloc[0]
    assert (participation.customers_surveyed, participation.answering_customers, participation.anonymous_answers) == (1, 1, 1)
    assert participation.response_rate == 1.0


def test_page_without_the_survey_export_says_so(nps_page):
    markdown, data, private = nps_page(customers=[customer("a")], orders=[order("o1", "a", "2024-04-05")])
    assert "No survey export (`nps_responses`) was provided, so there is no NPS for this report." in markdown
    assert "response rate" not in markdown and "nan" not in markdown.lower()
    assert pd.read_csv(data / "nps_summary.csv").responses.tolist() == [0]


def test_page_with_no_answers_in_the_period_says_so(nps_page):
    markdown, data, _ = nps_page(customers=[customer("a")], orders=[order("o1", "a", "2024-04-05")],
                                 nps_responses=[answer("r1", "a", "2024-01-10", 9)])
    assert "No survey answers were received in 2024-Q2, so there is no NPS for the period." in markdown
    assert "There is no comparison with 2024-Q1" in markdown
    assert "nan" not in markdown.lower()
    trend = pd.read_csv(data / "nps_trend.csv")
    assert trend.responses.sum() == 1 and len(trend) == 24


def test_default_comment_themes_cover_the_required_reasons(build_warehouse):
    required = {"price", "staff and rudeness", "mistakes and errors", "delivery", "product quality",
                "waiting and response time"}
    assert required <= set(load_params()["comment_themes"])
    con = build_warehouse(period="2024-Q2", customers=[customer("a")], orders=[order("o1", "a", "2024-04-02")],
                          nps_responses=[answer("r1", "a", "2024-04-05", 4, "I waited a week, then it arrived broken")])
    themes = dict(con.execute("SELECT theme, unhappy_comments FROM nps_themes").fetchall())
    assert required <= set(themes)  # every theme has a row, mentioned or not
    assert {t for t, n in themes.items() if n} == {"waiting and response time", "delivery", "product quality"}
