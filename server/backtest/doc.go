// Package backtest runs a draft campaign (its plugin version and configuration) over the
// recorded history of a past period as if it had been live, and keeps what it would have done:
// totals, a per-day series and per-member results. Nothing live is read for writing or
// written: balances, benefits, tiers, plugin states and enrolments stay as they are; the
// simulation keeps its own state per member (see sim) and its own rows (backtests,
// backtest_members).
//
// The history is the period's recorded events whose type the plugin evaluates, and the
// enrolments recorded in the period in the other campaigns of the draft's programme (replayed
// as registrations: the plugin checks eligibility with the recorded answers at the recorded
// time). Both are replayed in time order, each member's one after another on the state the
// previous left; the plugin's scheduled hooks run at their due times in the campaign's time
// zone, over the members the simulated campaign enrolled by then, exactly as the scheduler runs
// them for a campaign live since its start. Every simulated member starts empty: its profile
// is the stored one, and its balance, tier, benefits, enrolments and plugin state are only
// what the simulated campaign gave it.
//
// A backtest is a long job: Start stores it, a Run loop of any core replica claims it with a
// lease and checkpoints its cursors, totals and changed members every few seconds in one
// transaction, so a restarted core resumes it from the last checkpoint; Cancel stops it at the
// next checkpoint. One backtest runs at a time per campaign.
package backtest
