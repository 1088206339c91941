"""The NPS page's marts on hand-made fixtures, and the sample build's planted effects and hostile comment."""

import pandas as pd

from conftest import SAMPLE_PERIOD, customer, order

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def answer(rid, cid, when, score, comment="", would_buy=""):
    return {"response_id": rid, "customer_id": cid, "responded_at": when, "score": str(score),
            "would_buy_again": would_buy, "comment": comment}


def test_comments_are_redacted_and_themed_by_whole_words(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer("c1", name="Ann Lee", email="ann@x.org"), customer("c2", name="Bo Park"),
                   customer("c3", name="José Núñez-Ortiz")],
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
        ],
    )
    rows = con.execute("SELECT score, themes, comment FROM nps_comments ORDER BY comment_number").fetchall()
    assert rows == [
        (3, "staff and rudeness", "Rude staff. [name], [email], [phone]"),
        (2, "", "<script>alert(1)</script><img src=x onerror=alert(2)> mail [email]"),  # "onerror" is no error
        (7, "mistakes and errors", "Several errors in my bill"),
        (5, "", "[name] here. [name] from Leeds, [name] [name]. Call [phone]"),
        (6, "", "[name]; [name]; [name]"),
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


def test_anonymous_answers_count_in_nps_but_link_to_no_one(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c, name=c.upper() + "name") for c in ("a", "b", "c")],
        orders=[order("o1", "a", "2024-04-02"), order("o2", "c", "2024-05-02"),
                order("o3", "b", "2024-04-03", status="refunded")],  # b is not active: not surveyed
        nps_responses=[answer("r1", "a", "2024-04-05", 9), answer("r2", "b", "2024-04-06", 3),
                       answer("r3", "", "2024-04-07", 0), answer("r4", "", "2024-04-08", 10),
                       answer("r5", "a", "2024-04-09", 8)],
    )
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
