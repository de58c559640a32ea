ALTER TABLE benefits
    DROP COLUMN fulfillment_changed_at,
    DROP COLUMN fulfillment_changed_by,
    DROP COLUMN fulfillment_note;
