package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/event"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
	"github.com/promogate/promogate/server/rewards"
)

// Deps are what the programme demo needs from the running core.
type Deps struct {
	DB      *db.DB
	Host    *pluginhost.Host
	Rewards *rewards.Service
	Log     hclog.Logger
	// Now is the core's clock; the demo replays past programme dates with clocks of its own.
	Now func() time.Time
}

// programme describes one seed programme's demo: its campaign and a script of member actions.
type programme struct {
	plugin, code, name, zone string
	starts                   time.Time
	script                   func(ctx context.Context, s *session) error
}

// session runs a demo script against one campaign.
type session struct {
	deps     Deps
	campaign *campaigns.Campaign
	members  *members.Store
	log      hclog.Logger
}

// engineAt returns an engine (and its ledger) whose clock reads at, for replaying history.
func (s *session) engineAt(at time.Time) *engine.Engine {
	now := func() time.Time { return at }
	if at.IsZero() {
		now = s.deps.Now
	}
	led := ledger.New(s.deps.DB, now)
	camps := campaigns.NewStore(s.deps.DB, now, s.deps.Host)
	return engine.New(s.deps.DB, led, s.members, camps, benefits.NewStore(s.deps.DB), s.deps.Host, s.log, now, engine.Options{})
}

func (s *session) member(ctx context.Context, ref, name string, attrs map[string]any) (*members.Member, error) {
	m, _, err := s.members.Upsert(ctx, members.UpsertInput{ExternalRef: ref, Name: &name, Attributes: attrs})
	return m, err
}

func (s *session) enroll(ctx context.Context, at time.Time, m *members.Member, answers map[string]any) error {
	res, err := s.engineAt(at).Enroll(ctx, m.ID, s.campaign.ID, answers, "demo:"+m.ExternalRef)
	if err != nil {
		return err
	}
	if len(res.Reasons) > 0 {
		s.log.Info("demo enrolment refused (on purpose or by the rules)", "member", m.ExternalRef, "reason", res.Reasons[0].Message)
	}
	return nil
}

func (s *session) event(ctx context.Context, at time.Time, m *members.Member, typ, id string, attrs map[string]any) error {
	res, err := s.engineAt(at).Record(ctx, []event.Input{{Type: typ, MemberRef: m.ExternalRef, Source: "demo",
		ExternalID: s.campaign.Code + ":" + id, OccurredAt: at, Attributes: attrs}})
	if err != nil {
		return err
	}
	return res[0].Err
}

// LoadPrograms creates, for every seed programme whose plugin is registered, a programme, an
// active campaign with the plugin's default (seed) configuration and a few members at
// different stages, by replaying their history through the engine. Programmes whose plugin is
// missing are skipped. Running it again changes nothing: programmes and campaigns are looked
// up by code, and every enrolment and event has a fixed key.
func LoadPrograms(ctx context.Context, d Deps) error {
	entries, err := d.Host.Entries(ctx)
	if err != nil {
		return err
	}
	latest := map[string]pluginhost.Entry{}
	for _, e := range entries {
		latest[e.Name] = e // ordered by registration time: the last one wins
	}
	led := ledger.New(d.DB, d.Now)
	camps := campaigns.NewStore(d.DB, d.Now, d.Host)
	for _, p := range seedProgrammes() {
		e, ok := latest[p.plugin]
		if !ok {
			d.Log.Info("demo programme skipped: plugin not registered", "plugin", p.plugin)
			continue
		}
		prog, err := led.ProgramByCode(ctx, p.code)
		if errors.Is(err, ledger.ErrProgramNotFound) {
			prog, err = led.CreateProgram(ctx, p.code, p.name, "Demo of the "+p.plugin+" plugin with its seed configuration.")
		}
		if err != nil {
			return fmt.Errorf("demo: programme %s: %w", p.code, err)
		}
		c, err := camps.GetByCode(ctx, p.code)
		if errors.Is(err, campaigns.ErrNotFound) {
			c, err = camps.Create(ctx, campaigns.CreateInput{Code: p.code, Name: p.name, ProgramID: prog.ID, PluginName: e.Name,
				PluginVersion: e.Version, Config: e.Description.DefaultConfig, TimeZone: p.zone, StartsAt: p.starts})
			if err == nil {
				c, err = camps.Transition(ctx, c.ID, campaigns.Active)
			}
		}
		if err != nil {
			return fmt.Errorf("demo: campaign %s: %w", p.code, err)
		}
		s := &session{deps: d, campaign: c, members: members.NewStore(d.DB, d.Now), log: d.Log.With("programme", p.code)}
		if err := p.script(ctx, s); err != nil {
			return fmt.Errorf("demo: %s: %w", p.code, err)
		}
		d.Log.Info("demo programme loaded", "programme", p.code, "plugin", e.Name+"@"+e.Version)
	}
	return nil
}

func at(layout string) time.Time {
	t, err := time.Parse(time.RFC3339, layout)
	if err != nil {
		panic(err)
	}
	return t
}

// anchor is the moment relative demo dates count from: the campaign's creation, so that
// loading again replays exactly the same inputs.
func (s *session) anchor() time.Time { return s.campaign.CreatedAt.UTC().Truncate(time.Hour) }

// seedProgrammes are the five programmes of the seed documents. Programmes whose rules are not
// tied to dates get recent history, relative to the campaign's creation.
func seedProgrammes() []programme {
	return []programme{
		{plugin: "giftbymonth", code: "its-gifts-2021", name: "ITS PROF gift programme 2021", zone: "Europe/Kyiv",
			starts: at("2021-01-01T00:00:00+02:00"), script: func(ctx context.Context, s *session) error {
				contract := func(id string, term int, month string) map[string]any {
					return map[string]any{"productRegistered": true, "itsContracts": []any{map[string]any{
						"id": id, "level": "PROF", "termMonths": term, "paidInFull": true, "startMonth": month}}}
				}
				april, err := s.member(ctx, "its-april-24", "Kvitka LLC", contract("ITS-0424", 24, "2021-04"))
				if err != nil {
					return err
				}
				june, err := s.member(ctx, "its-june-12", "Dnipro Trade", contract("ITS-0612", 12, "2021-06"))
				if err != nil {
					return err
				}
				short, err := s.member(ctx, "its-six-months", "Short Term Ltd", contract("ITS-0006", 6, "2021-05"))
				if err != nil {
					return err
				}
				if err := s.enroll(ctx, at("2021-04-10T10:00:00+03:00"), april, map[string]any{"contractId": "ITS-0424",
					"registeredBy": "Olena Petrenko", "responsible": "Ivan Bondar"}); err != nil {
					return err
				}
				if err := s.enroll(ctx, at("2021-06-03T11:00:00+03:00"), june, map[string]any{"contractId": "ITS-0612",
					"registeredBy": "Taras Melnyk"}); err != nil {
					return err
				}
				return s.enroll(ctx, at("2021-05-05T11:00:00+03:00"), short, map[string]any{"contractId": "ITS-0006"})
			}},
		{plugin: "earntable", code: "vashplus", name: "VashPlus bonus programme", zone: "Europe/Moscow",
			starts: at("2020-01-01T00:00:00+03:00"), script: func(ctx context.Context, s *session) error {
				client, err := s.member(ctx, "vash-client", "Accounting Bureau No. 1", nil)
				if err != nil {
					return err
				}
				guest, err := s.member(ctx, "vash-guest", "Walk-in Client", nil)
				if err != nil {
					return err
				}
				today := s.anchor()
				if err := s.enroll(ctx, time.Time{}, client, map[string]any{"cabinetLogin": "bureau1"}); err != nil {
					return err
				}
				for i, ev := range []struct {
					typ   string
					attrs map[string]any
				}{
					{"prepayment", map[string]any{"months": 12, "amount": 48000}},
					{"seminar.purchased", map[string]any{"amount": 3000}},
					{"certificate.professional", nil},
					{"recommendation.sale", nil},
					{"review", nil},
				} {
					if err := s.event(ctx, today.Add(-time.Duration(5-i)*24*time.Hour), client, ev.typ, fmt.Sprint("client-", i), ev.attrs); err != nil {
						return err
					}
				}
				return s.event(ctx, today.Add(-time.Hour), guest, "review", "guest-1", nil)
			}},
		{plugin: "tierstatus", code: "rt-bonus", name: "Bonus programme with statuses", zone: "Europe/Moscow",
			starts: at("2020-01-01T00:00:00+03:00"), script: func(ctx context.Context, s *session) error {
				vip, err := s.member(ctx, "rt-privilege", "Privilege Subscriber", map[string]any{"services": []any{"internet", "tv"}})
				if err != nil {
					return err
				}
				basic, err := s.member(ctx, "rt-basic", "New Subscriber", map[string]any{"services": []any{"phone"}})
				if err != nil {
					return err
				}
				for _, m := range []*members.Member{vip, basic} {
					if err := s.enroll(ctx, time.Time{}, m, map[string]any{"acceptTerms": true}); err != nil {
						return err
					}
				}
				today := s.anchor()
				for i := 0; i < 10; i++ {
					if err := s.event(ctx, today.Add(-time.Duration(20-i)*time.Hour), vip, "survey.answered", fmt.Sprint("vip-survey-", i),
						map[string]any{"points": 1000, "surveyId": fmt.Sprint("demo-survey-", i)}); err != nil {
						return err
					}
				}
				if err := s.event(ctx, today.Add(-2*time.Hour), basic, "payment", "basic-payment-1", map[string]any{"service": "phone", "amountRub": 750}); err != nil {
					return err
				}
				return s.catalogue(ctx, vip)
			}},
		{plugin: "tariffpromo", code: "a1-summer-2023", name: "Switch on the summer of unlimited 2023", zone: "Europe/Minsk",
			starts: at("2023-07-01T00:00:00+03:00"), script: func(ctx context.Context, s *session) error {
				drive, err := s.member(ctx, "a1-drive5", "Drive 5 subscriber", nil)
				if err != nil {
					return err
				}
				late, err := s.member(ctx, "a1-connected-0815", "Late subscriber", nil)
				if err != nil {
					return err
				}
				conn := func(number string) map[string]any {
					return map[string]any{"tariffPlan": "Drive 5", "payment": "postpaid", "reregistration": false,
						"clientType": "person", "number": number, "newNumber": true}
				}
				if err := s.event(ctx, at("2023-08-14T11:00:00+03:00"), drive, "subscriber.connected", "drive-1", conn("+375291110001")); err != nil {
					return err
				}
				if err := s.event(ctx, at("2023-08-20T09:00:00+03:00"), drive, "service.activated", "drive-voka", map[string]any{"number": "+375291110001"}); err != nil {
					return err
				}
				if err := s.event(ctx, at("2023-09-30T12:00:00+03:00"), drive, "benefit.activate", "drive-addon", map[string]any{"addon": "unlimited_minutes"}); err != nil {
					return err
				}
				return s.event(ctx, at("2023-08-15T00:00:00+03:00"), late, "subscriber.connected", "late-1", conn("+375291110002"))
			}},
		{plugin: "referral", code: "t2-referral", name: "Corporate PBX: invite friends", zone: "Europe/Minsk",
			starts: at("2020-01-01T00:00:00+03:00"), script: func(ctx context.Context, s *session) error {
				old, err := s.member(ctx, "t2-referrer", "Reservation LLC", nil)
				if err != nil {
					return err
				}
				svc := referral.New(s.deps.DB, s.engineAt(time.Time{}), s.members, s.deps.Now)
				code, err := svc.Code(ctx, old.ID, s.campaign.ProgramID)
				if err != nil {
					return err
				}
				today := s.anchor()
				for i := 1; i <= 3; i++ {
					f, err := s.member(ctx, fmt.Sprint("t2-friend-", i), fmt.Sprint("Friend Company ", i), map[string]any{
						"serviceRegisteredAt": today.AddDate(0, 0, -20).Format(time.RFC3339),
						"promoPeriodEndsAt":   today.AddDate(0, 0, 10).Format(time.RFC3339)})
					if err != nil {
						return err
					}
					if _, err := svc.Apply(ctx, f.ID, code); err != nil {
						return err
					}
				}
				return nil
			}},
	}
}

// catalogue loads the tierstatus demo catalogue (plugins/tierstatus/catalog.json, looked up
// from the working directory, as `make run` runs) bound to the campaign, so its plugin prices
// every reward by status, and places one order for the member. Without the file it only logs.
func (s *session) catalogue(ctx context.Context, m *members.Member) error {
	if s.deps.Rewards == nil {
		return nil
	}
	f, err := os.Open(filepath.Join("plugins", "tierstatus", "catalog.json"))
	if err != nil {
		s.log.Info("demo catalogue not loaded: plugins/tierstatus/catalog.json not found from the working directory")
		return nil
	}
	defer f.Close()
	cid := s.campaign.ID
	if _, err := rewards.LoadCatalog(ctx, s.deps.Rewards, f, rewards.CatalogOptions{ProgramID: s.campaign.ProgramID,
		CampaignID: &cid, DemoCodes: 5}); err != nil {
		return err
	}
	list, _, err := s.deps.Rewards.List(ctx, rewards.Filter{ProgramID: s.campaign.ProgramID}, 0, 100)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.Code == "antivirus-kaspersky-is-2pc" {
			_, err := s.deps.Rewards.Redeem(ctx, rewards.RedeemInput{MemberID: m.ID, RewardIDs: []int64{r.ID}, IdempotencyKey: "demo-order-1"})
			return err
		}
	}
	return nil
}
