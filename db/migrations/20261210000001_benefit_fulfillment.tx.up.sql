-- Fulfilment of physical gifts: who last changed a gift's fulfilment status (to_deliver,
-- delivered, cancelled), when, and the note they left (see docs/plugins.md, "Gift fulfilment").
ALTER TABLE benefits
    ADD COLUMN fulfillment_changed_at timestamptz,
    ADD COLUMN fulfillment_changed_by text NOT NULL DEFAULT '',
    ADD COLUMN fulfillment_note text NOT NULL DEFAULT '';
