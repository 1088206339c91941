"""The sample business is deterministic, follows the contract and carries its planted effects."""

import hashlib

import duckdb
import pandas as pd
import pytest

from retention_report.sample_data import HOSTILE_COMMENT, INVALID_ROWS, write_sample_data


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, sample_data):
    write_sample_data(tmp_path / "again")
    write_sample_data(tmp_path / "other", seed=8)
    assert digest(tmp_path / "again") == digest(sample_data)
    assert digest(tmp_path / "other") != digest(sample_data)


def test_files_follow_the_contract_with_a_few_invalid_rows(sample_data):
    customers = pd.read_csv(sample_data / "customers.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(sample_data / "orders.csv", dtype=str, keep_default_na=False)
    nps = pd.read_csv(sample_data / "nps_responses.csv", dtype=str, keep_default_na=False)
    assert list(customers.columns) == ["customer_id", "created_at", "email", "name", "phone",
                                       "acquisition_channel", "plan", "region"]
    assert len(customers) == 20_000 + INVALID_ROWS["customers"]
    assert 50_000 < len(orders) < 120_000 and 4_000 < len(nps) < 15_000
    ordered = pd.to_datetime(orders.ordered_at, errors="coerce", format="%Y-%m-%d %H:%M:%S")
    assert ordered.isna().sum() == 1  # the one planted unparseable date
    assert ordered.min() >= pd.Timestamp("2022-01-01") and ordered.max() <= pd.Timestamp("2024-12-31 23:59:59")
    assert (nps.comment == HOSTILE_COMMENT).sum() == 1
    assert set(orders.status) == {"completed", "refunded", "cancelled"}


def _anchor_retention(folder):
    """180-day retention after the second completed order, thanked within 30 days or not (independent SQL)."""
    con = duckdb.connect()
    # Read as text first: the checks below cast, and must not fail on the planted invalid rows.
    con.execute(f"CREATE TABLE raw_o AS SELECT * FROM read_csv('{folder}/orders.csv', all_varchar=true)")
    con.execute(f"CREATE TABLE raw_t AS SELECT * FROM read_csv('{folder}/touchpoints.csv', all_varchar=true)")
    con.execute("""CREATE TABLE o AS SELECT customer_id, try_cast(ordered_at AS TIMESTAMP) AS ts FROM raw_o
        WHERE status = 'completed' AND try_cast(amount AS DOUBLE) >= 0 AND try_cast(ordered_at AS TIMESTAMP) IS NOT NULL""")
    con.execute("CREATE TABLE t AS SELECT customer_id, try_cast(occurred_at AS TIMESTAMP) AS ts, kind FROM raw_t")
    rows = con.execute("""
        WITH ranked AS (SELECT customer_id, ts, row_number() OVER (PARTITION BY customer_id ORDER BY ts) AS k FROM o),
        anchors AS (SELECT customer_id, ts AS anchor FROM ranked WHERE k = 2 AND ts < TIMESTAMP '2024-06-01'),
        thanked AS (SELECT DISTINCT a.customer_id FROM anchors a JOIN t ON t.customer_id = a.customer_id
                    AND t.kind IN ('thank_you', 'handwritten_note', 'check_in_call')
                    AND t.ts BETWEEN a.anchor AND a.anchor + INTERVAL 31 DAY)
        SELECT th.customer_id IS NOT NULL AS thanked,
               avg((EXISTS (SELECT 1 FROM o WHERE o.customer_id = a.customer_id
                   AND o.ts > a.anchor + INTERVAL 30 DAY AND o.ts <= a.anchor + INTERVAL 210 DAY))::INT)
        FROM anchors a LEFT JOIN thanked th USING (customer_id) GROUP BY 1""").fetchall()
    return dict(rows)


def test_thanked_customers_stay_longer_only_when_the_effect_is_on(sample_data, tmp_path):
    on = _anchor_retention(sample_data)
    assert 0.07 < on[True] - on[False] < 0.14
    write_sample_data(tmp_path / "off", thank_you_effect=False)
    off = _anchor_retention(tmp_path / "off")
    assert abs(off[True] - off[False]) < 0.04


def test_promoters_stay_longer_than_detractors(sample_data):
    con = duckdb.connect()
    rows = con.execute(f"""
        WITH o AS (SELECT customer_id, try_cast(ordered_at AS TIMESTAMP) AS ts FROM read_csv('{sample_data}/orders.csv', all_varchar=true) WHERE status = 'completed'),
        n AS (SELECT customer_id, try_cast(responded_at AS TIMESTAMP) AS ts, try_cast(score AS INT) AS score
              FROM read_csv('{sample_data}/nps_responses.csv', all_varchar=true) WHERE customer_id IS NOT NULL)
        SELECT score >= 9, avg((EXISTS (SELECT 1 FROM o WHERE o.customer_id = n.customer_id AND o.ts > n.ts
                                        AND o.ts <= n.ts + INTERVAL 180 DAY))::INT)
        FROM n WHERE (score >= 9 OR score <= 6) AND n.ts < TIMESTAMP '2024-06-01' GROUP BY 1""").fetchall()
    retention = dict(rows)
    assert retention[True] - retention[False] > 0.2


def test_cohorts_after_the_welcome_programme_are_welcomed_and_retain_better(sample_data):
    con = duckdb.connect()
    rows = con.execute(f"""
        WITH o AS (SELECT customer_id, try_cast(ordered_at AS TIMESTAMP) AS ts FROM read_csv('{sample_data}/orders.csv', all_varchar=true) WHERE status = 'completed' AND try_cast(ordered_at AS TIMESTAMP) IS NOT NULL),
        f AS (SELECT customer_id, min(ts) AS first_at FROM o GROUP BY 1),
        w AS (SELECT DISTINCT customer_id FROM read_csv('{sample_data}/touchpoints.csv', all_varchar=true) WHERE kind = 'welcome')
        SELECT f.first_at >= TIMESTAMP '2023-07-01' AS is_after,
               avg((w.customer_id IS NOT NULL)::INT) AS welcomed,
               avg((EXISTS (SELECT 1 FROM o WHERE o.customer_id = f.customer_id AND o.ts > f.first_at + INTERVAL 1 DAY
                            AND o.ts <= f.first_at + INTERVAL 90 DAY))::INT) AS retained_90
        FROM f LEFT JOIN w USING (customer_id) WHERE f.first_at < TIMESTAMP '2024-09-01' GROUP BY 1""").fetchall()
    by = {is_after: (welcomed, retained) for is_after, welcomed, retained in rows}
    assert by[False][0] < 0.2 and by[True][0] > 0.75
    assert by[True][1] - by[False][1] > 0.04
