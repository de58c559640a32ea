CREATE OR REPLACE FUNCTION live_notify(kind text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i int := 1;
BEGIN
    WHILE i <= coalesce(array_length(ids, 1), 0) LOOP
        PERFORM pg_notify('promogate_live', kind || ' ' || array_to_string(ids[i:i + 299], ' '));
        i := i + 300;
    END LOOP;
END
$$;

DROP TABLE live_changes;
