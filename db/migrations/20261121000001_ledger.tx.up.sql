-- Members, programmes and the points ledger (see docs/ledger.md).
-- Invariants carried by constraints are named so the storage layer can map them to domain errors.

CREATE TABLE programs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT programs_code_key UNIQUE (code),
    CONSTRAINT programs_code_format CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,62}$')
);

CREATE TABLE members (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_ref text NOT NULL,
    name         text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    birth_date   date,
    region       text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'active',
    attributes   jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_external_ref_key UNIQUE (external_ref),
    CONSTRAINT members_external_ref_length CHECK (length(external_ref) BETWEEN 1 AND 200),
    CONSTRAINT members_attributes_object CHECK (jsonb_typeof(attributes) = 'object')
);

-- One account per (member, programme) plus four system accounts per programme.
-- Balances live on member accounts only; system accounts are never locked or updated
-- (their balance is derived from postings), so they are not hot rows.
CREATE TABLE accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES programs (id),
    member_id       bigint REFERENCES members (id),
    kind            text NOT NULL,
    available       bigint NOT NULL DEFAULT 0,
    pending         bigint NOT NULL DEFAULT 0,
    lifetime_earned bigint NOT NULL DEFAULT 0,
    status_balance  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_kind CHECK (kind IN ('member', 'issuance', 'redemption', 'expiry', 'adjustment')),
    CONSTRAINT accounts_member_kind CHECK ((kind = 'member') = (member_id IS NOT NULL)),
    CONSTRAINT accounts_available_nonnegative CHECK (available >= 0),
    CONSTRAINT accounts_pending_nonnegative CHECK (pending >= 0),
    CONSTRAINT accounts_lifetime_nonnegative CHECK (lifetime_earned >= 0),
    CONSTRAINT accounts_status_nonnegative CHECK (status_balance >= 0)
);
CREATE UNIQUE INDEX accounts_member_key ON accounts (program_id, member_id) WHERE member_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_system_key ON accounts (program_id, kind) WHERE member_id IS NULL;
CREATE INDEX accounts_member_id ON accounts (member_id) WHERE member_id IS NOT NULL;

-- One row per business operation. Never updated, never deleted: corrections are reversals.
CREATE TABLE transactions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id      bigint NOT NULL REFERENCES programs (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    member_id       bigint NOT NULL REFERENCES members (id),
    kind            text NOT NULL,
    points          bigint NOT NULL,
    status_points   bigint NOT NULL DEFAULT 0,
    idempotency_key text NOT NULL,
    input_hash      bytea NOT NULL,
    reason          text NOT NULL DEFAULT '',
    reverses_id     bigint REFERENCES transactions (id),
    event_id        bigint,
    campaign_id     bigint,
    plugin_version  text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    CONSTRAINT transactions_kind CHECK (kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse')),
    CONSTRAINT transactions_points_nonzero CHECK (points <> 0),
    CONSTRAINT transactions_status_points_nonnegative CHECK (status_points >= 0),
    CONSTRAINT transactions_idempotency_key UNIQUE (program_id, idempotency_key),
    CONSTRAINT transactions_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    CONSTRAINT transactions_one_reversal UNIQUE (reverses_id),
    CONSTRAINT transactions_reverse_kind CHECK ((kind = 'reverse') = (reverses_id IS NOT NULL))
);
CREATE INDEX transactions_account ON transactions (account_id, id DESC);
CREATE INDEX transactions_member ON transactions (member_id, id DESC);

-- Double entry: every change moves an amount from one account to another.
CREATE TABLE postings (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id    bigint NOT NULL REFERENCES transactions (id),
    debit_account_id  bigint NOT NULL REFERENCES accounts (id),
    credit_account_id bigint NOT NULL REFERENCES accounts (id),
    amount            bigint NOT NULL,
    CONSTRAINT postings_amount_positive CHECK (amount > 0),
    CONSTRAINT postings_distinct_accounts CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX postings_transaction ON postings (transaction_id);
CREATE INDEX postings_debit ON postings (debit_account_id);
CREATE INDEX postings_credit ON postings (credit_account_id);

-- One lot per credit to a member account. Spending consumes lots oldest-expiry-first.
CREATE TABLE lots (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts (id),
    transaction_id bigint NOT NULL REFERENCES transactions (id),
    amount         bigint NOT NULL,
    remaining      bigint NOT NULL,
    available_at   timestamptz NOT NULL,
    expires_at     timestamptz,
    pending        boolean NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT lots_amount_positive CHECK (amount > 0),
    CONSTRAINT lots_remaining_range CHECK (remaining >= 0 AND remaining <= amount),
    CONSTRAINT lots_expiry_after_availability CHECK (expires_at IS NULL OR expires_at > available_at)
);
CREATE INDEX lots_spendable ON lots (account_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX lots_due_expiry ON lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX lots_due_release ON lots (available_at) WHERE pending;

-- What each transaction took from (consume) or gave back to (restore) each lot,
-- so a reversal restores exactly the lots a spend consumed.
CREATE TABLE lot_consumptions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES transactions (id),
    lot_id         bigint NOT NULL REFERENCES lots (id),
    kind           text NOT NULL,
    amount         bigint NOT NULL,
    CONSTRAINT lot_consumptions_kind CHECK (kind IN ('consume', 'restore')),
    CONSTRAINT lot_consumptions_amount_positive CHECK (amount > 0)
);
CREATE INDEX lot_consumptions_transaction ON lot_consumptions (transaction_id);
CREATE INDEX lot_consumptions_lot ON lot_consumptions (lot_id);
