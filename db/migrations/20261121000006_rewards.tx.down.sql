DROP TABLE IF EXISTS reward_codes;
DROP TABLE IF EXISTS reward_order_lines;
DROP TABLE IF EXISTS reward_orders;
DROP TABLE IF EXISTS rewards;
