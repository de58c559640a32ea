DROP TABLE backtest_members;
DROP TABLE backtests;
