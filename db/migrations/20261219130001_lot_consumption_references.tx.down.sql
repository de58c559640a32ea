CREATE INDEX lot_consumptions_lot ON lot_consumptions (lot_id);
ALTER TABLE lot_consumptions
    ADD CONSTRAINT lot_consumptions_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    ADD CONSTRAINT lot_consumptions_lot_id_fkey FOREIGN KEY (lot_id) REFERENCES lots (id);
DROP TRIGGER lot_consumptions_references_update ON lot_consumptions;
DROP TRIGGER lot_consumptions_references_insert ON lot_consumptions;
DROP FUNCTION lot_consumptions_references();
DROP TRIGGER transactions_kept ON transactions;
DROP TRIGGER lots_kept ON lots;
DROP FUNCTION ledger_rows_kept();
