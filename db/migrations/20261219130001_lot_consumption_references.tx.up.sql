-- Expiry and spends write a lot_consumptions row per lot they take from: a page of expiry
-- writes 10,000 of them in one statement. Their two foreign keys checked each row on its own
-- (20,000 look-ups and row locks per page, a third of the page's work, docs/benchmarks.md);
-- the same guarantee is now checked once per statement, and the rows it relies on are kept.

-- Lots and transactions are never deleted, truncated or given another id (corrections are new
-- transactions; a spent or expired lot keeps its row at remaining 0). That is what makes a
-- check at insert as good as a foreign key: a row that existed when a consumption was written
-- still exists, and no lock is needed to keep it.
CREATE FUNCTION ledger_rows_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted, truncated or renumbered', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_kept';
END
$$;
CREATE TRIGGER lots_kept BEFORE DELETE OR TRUNCATE OR UPDATE OF id ON lots
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rows_kept();
CREATE TRIGGER transactions_kept BEFORE DELETE OR TRUNCATE OR UPDATE OF id ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rows_kept();

-- Every lot and transaction the new or changed rows of a statement name exists, checked with
-- one index look-up per distinct id; a violation is reported as the foreign key was (SQLSTATE
-- 23503, the same constraint name).
CREATE FUNCTION lot_consumptions_references() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM lots WHERE id = ANY (ARRAY(SELECT DISTINCT lot_id FROM consumptions)))
        <> (SELECT count(DISTINCT lot_id) FROM consumptions) THEN
        RAISE EXCEPTION 'a lot consumption names a lot that does not exist'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'lot_consumptions_lot_id_fkey', TABLE = 'lot_consumptions';
    END IF;
    IF (SELECT count(*) FROM transactions WHERE id = ANY (ARRAY(SELECT DISTINCT transaction_id FROM consumptions)))
        <> (SELECT count(DISTINCT transaction_id) FROM consumptions) THEN
        RAISE EXCEPTION 'a lot consumption names a transaction that does not exist'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'lot_consumptions_transaction_id_fkey', TABLE = 'lot_consumptions';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER lot_consumptions_references_insert AFTER INSERT ON lot_consumptions
    REFERENCING NEW TABLE AS consumptions FOR EACH STATEMENT EXECUTE FUNCTION lot_consumptions_references();
CREATE TRIGGER lot_consumptions_references_update AFTER UPDATE ON lot_consumptions
    REFERENCING NEW TABLE AS consumptions FOR EACH STATEMENT EXECUTE FUNCTION lot_consumptions_references();

ALTER TABLE lot_consumptions
    DROP CONSTRAINT lot_consumptions_transaction_id_fkey,
    DROP CONSTRAINT lot_consumptions_lot_id_fkey;

-- Consumptions are read by transaction (a reversal's), never by lot: with the foreign key gone
-- no delete of a lot needs this index either.
DROP INDEX lot_consumptions_lot;
