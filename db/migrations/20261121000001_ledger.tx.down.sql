DROP TABLE lot_consumptions;
DROP TABLE lots;
DROP TABLE postings;
DROP TABLE transactions;
DROP TABLE accounts;
DROP TABLE members;
DROP TABLE programs;
