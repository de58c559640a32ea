-- Personal invite codes: one per member and programme, unique across all programmes so a code
-- alone names its programme (see docs/referral.md).
CREATE TABLE referral_codes (
    member_id  bigint NOT NULL REFERENCES members (id),
    program_id bigint NOT NULL REFERENCES programs (id),
    code       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, program_id),
    CONSTRAINT referral_codes_code_key UNIQUE (code),
    CONSTRAINT referral_codes_code_upper CHECK (code = upper(code))
);
