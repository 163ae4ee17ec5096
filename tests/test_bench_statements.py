"""The one-initiative job's statement summary in the bench's table (bench.bulk.statement_summary): each statement
named by its verb and its own table — not a subquery's, not a function's."""

from bench.bulk import statement_summary


def test_each_statement_is_named_by_its_own_table():
    statements = [
        "BEGIN",
        'SELECT "scoring_scorejob"."id", (SELECT 1 FROM "partnerships_bank" b) FROM "scoring_scorejob" '
        'WHERE id = 1 FOR UPDATE OF "scoring_scorejob"',
        "WITH wanted AS (SELECT * FROM unnest('{1}'::int[])) SELECT a.id FROM scoring_assessment a JOIN wanted w",
        'SELECT i.id, CASE WHEN e.id IS NOT NULL THEN (SELECT max(a.approved_at) FROM "scoring_assessment" a) END '
        'FROM unnest(ARRAY[1]) AS i (id) LEFT JOIN "partnerships_partnershipcontract" c ON c.initiative_id = i.id',
        'UPDATE "scoring_scorejob" SET "enqueued_at" = now()',
        "COMMIT",
        "SAVEPOINT s1",
    ]
    assert statement_summary(statements) == (
        "BEGIN, SELECT scoring_scorejob, WITH scoring_assessment, SELECT partnerships_partnershipcontract, "
        "UPDATE scoring_scorejob, COMMIT, SAVEPOINT"
    )
    assert statement_summary(["BEGIN", "COMMIT", "BEGIN"]) == "BEGIN ×2, COMMIT"
