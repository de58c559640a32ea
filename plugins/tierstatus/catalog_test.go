package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
)

// catalogReward is one entry of catalog.json.
type catalogReward struct {
	Code             string   `json:"code"`
	Title            string   `json:"title"`
	Category         string   `json:"category"`
	Price            int64    `json:"price"`
	PriceSource      string   `json:"priceSource"`
	Service          *string  `json:"service"`
	ServicesRequired []string `json:"servicesRequired"`
	Regions          []string `json:"regions"`
	PerMemberLimit   int64    `json:"perMemberLimit"`
	Validity         string   `json:"validity"`
	Delivery         string   `json:"delivery"`
}

type catalogFile struct {
	Program string          `json:"program"`
	Version int             `json:"version"`
	Note    string          `json:"note"`
	Rewards []catalogReward `json:"rewards"`
}

func readCatalog(t *testing.T) catalogFile {
	t.Helper()
	b, err := os.ReadFile("catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c catalogFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("catalog.json: %v", err)
	}
	return c
}

// TestCatalog checks the demo catalogue against the seed's prices and rules.
func TestCatalog(t *testing.T) {
	t.Parallel()
	c := readCatalog(t)
	if c.Program != "tierstatus" || c.Version != 1 {
		t.Errorf("catalogue header %q %d", c.Program, c.Version)
	}
	// The seed's prices, written out independently.
	seedPrices := map[string]int64{
		"tv-film-rental": 800, "tv-pack-tvoyo-kino": 1700, "tv-pack-channels": 3400, "tv-pack-amedia-premium": 3400,
		"tv-pack-nash-futbol": 3700, "tv-pack-tvoy-idealny-hd": 5100, "tv-pack-match-futbol": 6400,
		"tv-pack-viasat-premium-hd": 6800, "tv-pack-amedia-viasat-premium-hd": 9000, "tv-video-zhensky-mir": 2500,
		"tv-view-control": 800, "tv-file-quota-5gb": 300, "tv-file-quota-10gb": 500, "tv-file-quota-15gb": 800,
		"tv-file-quota-20gb": 1000, "tv-file-quota-25gb": 1300, "tv-file-quota-30gb": 1500,
		"internet-discount-25": 1950, "antivirus-drweb-1pc": 500, "antivirus-eset-nod32-3pc": 500, "antivirus-kaspersky-is-2pc": 600,
		"phone-intrazone-60": 900, "phone-intrazone-30": 450, "phone-local-120": 750, "phone-local-60": 370,
		"phone-long-distance-15": 390, "phone-long-distance-30": 780, "phone-long-distance-60": 1560,
	}
	partners := []string{"partner-world-of-tanks", "partner-world-of-warships", "partner-litres-ebook", "partner-online-course",
		"partner-wildberries-discount", "partner-photo-certificate", "partner-impression-gift"}
	if len(c.Rewards) != len(seedPrices)+len(partners) {
		t.Errorf("%d rewards, want %d", len(c.Rewards), len(seedPrices)+len(partners))
	}
	services := []string{"internet", "tv", "phone"}
	seen := map[string]bool{}
	for _, r := range c.Rewards {
		if seen[r.Code] {
			t.Errorf("%s listed twice", r.Code)
		}
		seen[r.Code] = true
		if want, ok := seedPrices[r.Code]; ok {
			if r.Price != want || r.PriceSource != "seed" {
				t.Errorf("%s: price %d (%s), the seed says %d", r.Code, r.Price, r.PriceSource, want)
			}
		} else if !slices.Contains(partners, r.Code) || r.PriceSource != "demo" || r.Price <= 0 {
			t.Errorf("%s: not in the seed's list, or a partner reward without a demo price", r.Code)
		}
		if strings.TrimSpace(r.Title) == "" || len(r.Regions) == 0 || len(r.ServicesRequired) == 0 {
			t.Errorf("%s: title, regions and servicesRequired are required", r.Code)
		}
		for _, s := range r.ServicesRequired {
			if !slices.Contains(services, s) {
				t.Errorf("%s: unknown service %q", r.Code, s)
			}
		}
		wantValidity, wantLimit, wantDelivery := "", int64(0), "activation"
		switch {
		case r.Code == "tv-film-rental":
			wantValidity = "hours:48"
		case strings.HasPrefix(r.Code, "antivirus-"):
			wantValidity, wantLimit = "months:2", 1
		case r.Code == "internet-discount-25" || strings.HasPrefix(r.Code, "phone-"):
			wantValidity = "calendar_month"
		case strings.HasPrefix(r.Code, "tv-"):
			wantValidity = "months:1"
		case strings.HasPrefix(r.Code, "partner-"):
			wantValidity, wantDelivery = "none", "promo_code"
		}
		if r.Validity != wantValidity || r.PerMemberLimit != wantLimit || r.Delivery != wantDelivery {
			t.Errorf("%s: validity %q limit %d delivery %q, want %q %d %q", r.Code, r.Validity, r.PerMemberLimit, r.Delivery, wantValidity, wantLimit, wantDelivery)
		}
		if r.Category == "partner" {
			if r.Service != nil || !slices.Equal(r.ServicesRequired, []string{"internet", "phone"}) {
				t.Errorf("%s: a partner reward is for internet or phone subscribers and has no service of its own", r.Code)
			}
		} else if r.Service == nil || *r.Service != r.Category || !slices.Equal(r.ServicesRequired, []string{r.Category}) {
			t.Errorf("%s: category %s must be its service and required service", r.Code, r.Category)
		}
	}
}

// TestCatalogQuotes quotes every catalogue reward as the core would pass it
// (the entry's fields other than code, title, category and price as
// Attributes) for a VIP in Moscow with every service, and for a member
// outside Moscow.
func TestCatalogQuotes(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, Plugin{})
	c := readCatalog(t)
	vip := who{tier: "VIP", until: at(2030, 1, 1, 0, 0, 0), region: "Moscow", attrs: sdk.Values{"services": []any{"internet", "tv", "phone"}}}.member()
	tver := who{region: "Tver", attrs: sdk.Values{"services": []any{"internet", "tv", "phone"}}}.member()
	for _, r := range c.Rewards {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var attrs sdk.Values
		if err := dec.Decode(&attrs); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"code", "title", "category", "price"} {
			delete(attrs, k)
		}
		item := sdk.QuoteItem{RewardID: "id-" + r.Code, Category: r.Category, Code: r.Code, Price: r.Price, Attributes: attrs}
		q, err := p.Quote(context.Background(), sdk.QuoteRequest{Campaign: campaign(`{}`), Member: vip, Item: item, Now: at(2021, 5, 1, 0, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if !q.Allowed || q.Price != discounted(r.Price, 15) {
			t.Errorf("%s for a VIP in Moscow: %+v", r.Code, q)
		}
		q, err = p.Quote(context.Background(), sdk.QuoteRequest{Campaign: campaign(`{}`), Member: tver, Item: item, Now: at(2021, 5, 1, 0, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if moscowOnly := slices.Equal(r.Regions, []string{"Moscow"}); q.Allowed == moscowOnly || q.Price != r.Price {
			t.Errorf("%s outside Moscow: %+v (Moscow only: %v)", r.Code, q, moscowOnly)
		}
	}
}
