-- Rewards catalogue and redemption orders (see docs/rewards.md).

-- A reward in a programme's catalogue. stock NULL means unlimited; per_member_limit 0 means no
-- limit; regions and services_required empty mean everywhere / no service needed.
CREATE TABLE rewards (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id        bigint NOT NULL REFERENCES programs (id),
    code              text NOT NULL,
    title             text NOT NULL,
    category          text NOT NULL,
    price             bigint NOT NULL,
    regions           text[] NOT NULL DEFAULT '{}',
    services_required text[] NOT NULL DEFAULT '{}',
    per_member_limit  int NOT NULL DEFAULT 0,
    validity          text NOT NULL DEFAULT 'none',
    stock             bigint,
    code_pool         boolean NOT NULL DEFAULT false,
    campaign_id       bigint REFERENCES campaigns (id),
    active            boolean NOT NULL DEFAULT true,
    attributes        jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT rewards_program_code_key UNIQUE (program_id, code),
    CONSTRAINT rewards_price_range CHECK (price BETWEEN 0 AND 1000000000000),
    CONSTRAINT rewards_stock_nonnegative CHECK (stock IS NULL OR stock >= 0),
    CONSTRAINT rewards_per_member_limit_nonnegative CHECK (per_member_limit >= 0),
    CONSTRAINT rewards_attributes_object CHECK (jsonb_typeof(attributes) = 'object')
);
CREATE INDEX rewards_program ON rewards (program_id, id);

-- One order of one or several rewards by a member, paid with one ledger debit. Never deleted;
-- an operator reversal sets the reversal columns (who, when, why) and status 'reversed'.
CREATE TABLE reward_orders (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id              bigint NOT NULL REFERENCES programs (id),
    member_id               bigint NOT NULL REFERENCES members (id),
    idempotency_key         text NOT NULL,
    input_hash              bytea NOT NULL,
    points                  bigint NOT NULL,
    list_total              bigint NOT NULL,
    price_total             bigint NOT NULL,
    money_due               bigint NOT NULL,
    transaction_id          bigint REFERENCES transactions (id),
    status                  text NOT NULL DEFAULT 'completed',
    created_at              timestamptz NOT NULL,
    reversed_at             timestamptz,
    reversed_by             text,
    reversal_reason         text,
    reversal_transaction_id bigint REFERENCES transactions (id),
    CONSTRAINT reward_orders_idempotency_key UNIQUE (member_id, idempotency_key),
    CONSTRAINT reward_orders_status CHECK (status IN ('completed', 'reversed')),
    CONSTRAINT reward_orders_amounts CHECK (points >= 0 AND money_due >= 0 AND points + money_due = price_total),
    CONSTRAINT reward_orders_reversal CHECK ((status = 'reversed') = (reversed_at IS NOT NULL))
);
CREATE INDEX reward_orders_member ON reward_orders (member_id, id DESC);

-- The rewards of an order, one row per unit, with the quote it was bought at.
CREATE TABLE reward_order_lines (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           bigint NOT NULL REFERENCES reward_orders (id),
    line               int NOT NULL,
    member_id          bigint NOT NULL REFERENCES members (id),
    reward_id          bigint NOT NULL REFERENCES rewards (id),
    list_price         bigint NOT NULL,
    price              bigint NOT NULL,
    max_points_payable bigint,
    points             bigint NOT NULL,
    money_due          bigint NOT NULL,
    reasons            jsonb NOT NULL DEFAULT '[]',
    benefit_id         bigint REFERENCES benefits (id),
    code               text,
    valid_from         timestamptz,
    valid_until        timestamptz,
    CONSTRAINT reward_order_lines_line_key UNIQUE (order_id, line),
    CONSTRAINT reward_order_lines_amounts CHECK (points >= 0 AND money_due >= 0 AND points + money_due = price)
);
CREATE INDEX reward_order_lines_member_reward ON reward_order_lines (member_id, reward_id);

-- Imported partner promo codes, handed out one per redemption. Codes are unique across all
-- rewards, case-insensitively (like benefit codes, which they become).
CREATE TABLE reward_codes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reward_id     bigint NOT NULL REFERENCES rewards (id),
    code          text NOT NULL,
    imported_at   timestamptz NOT NULL,
    order_line_id bigint REFERENCES reward_order_lines (id),
    assigned_at   timestamptz,
    CONSTRAINT reward_codes_assigned CHECK ((order_line_id IS NULL) = (assigned_at IS NULL))
);
CREATE UNIQUE INDEX reward_codes_code_key ON reward_codes (upper(code));
CREATE INDEX reward_codes_free ON reward_codes (reward_id, id) WHERE order_line_id IS NULL;
