package rewards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/promogate/promogate/server/benefits"
)

// CatalogOptions tunes LoadCatalog.
type CatalogOptions struct {
	// ProgramID is the programme to load into; 0 takes the programme whose code is the file's
	// "program".
	ProgramID int64
	// CampaignID binds every loaded reward to the campaign whose plugin quotes it (e.g. the
	// tierstatus campaign, for status discounts); nil loads them at their listed prices.
	CampaignID *int64
	// DemoCodes, when positive, imports that many generated promo codes (benefits.NewCode) into
	// the pool of each newly created reward whose delivery is "promo_code". Demo data only: real
	// partner codes come through ImportCodes.
	DemoCodes int
}

// CatalogResult counts what LoadCatalog did.
type CatalogResult struct {
	// Created rewards were new; Existing ones (same code in the programme) were left as they are.
	Created, Existing int
}

// catalogColumns are the entry fields stored as reward columns; every other field of an entry
// is kept in the reward's attributes (and so reaches the plugin in QuoteItem.Attributes).
var catalogColumns = map[string]bool{"code": true, "title": true, "category": true, "price": true, "regions": true,
	"servicesRequired": true, "perMemberLimit": true, "validity": true, "stock": true}

// LoadCatalog loads a catalogue in the format of plugins/tierstatus/catalog.json:
//
//	{"program": "tierstatus", "version": 1, "rewards": [{"code": "…", "title": "…",
//	  "category": "internet", "price": 600, "service": "internet", "servicesRequired": ["internet"],
//	  "regions": ["*"], "perMemberLimit": 1, "validity": "months:2", "delivery": "activation"}]}
//
// Each entry becomes a reward: code, title, category, price, regions (["*"]: everywhere),
// servicesRequired (at least one of them), perMemberLimit (0: no limit), validity and an
// optional stock are columns; every other field (service, delivery, priceSource, …) goes into
// the reward's attributes. Entries whose delivery is "promo_code" get a code pool. Loading is
// idempotent: a code the programme already has is left as it is. Errors: ErrInvalid (with the
// entry's code), and those of Create.
func LoadCatalog(ctx context.Context, s *Service, r io.Reader, opts CatalogOptions) (*CatalogResult, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	var file struct {
		Program string            `json:"program"`
		Rewards []json.RawMessage `json:"rewards"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, invalid("catalogue: %v", err)
	}
	programID := opts.ProgramID
	if programID == 0 {
		p, err := s.ledger.ProgramByCode(ctx, file.Program)
		if err != nil {
			return nil, fmt.Errorf("catalogue programme %q: %w", file.Program, err)
		}
		programID = p.ID
	}
	out := &CatalogResult{}
	for i, entry := range file.Rewards {
		var e struct {
			Code             string   `json:"code"`
			Title            string   `json:"title"`
			Category         string   `json:"category"`
			Price            int64    `json:"price"`
			Regions          []string `json:"regions"`
			ServicesRequired []string `json:"servicesRequired"`
			PerMemberLimit   int      `json:"perMemberLimit"`
			Validity         string   `json:"validity"`
			Stock            *int64   `json:"stock"`
			Delivery         string   `json:"delivery"`
		}
		if err := json.Unmarshal(entry, &e); err != nil {
			return nil, invalid("catalogue entry %d: %v", i, err)
		}
		dec := json.NewDecoder(bytes.NewReader(entry))
		dec.UseNumber()
		var all map[string]any
		if err := dec.Decode(&all); err != nil {
			return nil, invalid("catalogue entry %d: %v", i, err)
		}
		attrs := map[string]any{}
		for k, v := range all {
			if !catalogColumns[k] {
				attrs[k] = v
			}
		}
		rw, err := s.Create(ctx, CreateInput{ProgramID: programID, Code: e.Code, Title: e.Title, Category: e.Category,
			Price: e.Price, Regions: e.Regions, ServicesRequired: e.ServicesRequired, PerMemberLimit: e.PerMemberLimit,
			Validity: e.Validity, Stock: e.Stock, CodePool: e.Delivery == "promo_code", CampaignID: opts.CampaignID,
			Attributes: attrs})
		if errors.Is(err, ErrExists) {
			out.Existing++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("catalogue entry %q: %w", e.Code, err)
		}
		out.Created++
		if rw.CodePool && opts.DemoCodes > 0 {
			codes := make([]string, opts.DemoCodes)
			for j := range codes {
				codes[j] = benefits.NewCode()
			}
			if _, err := s.ImportCodes(ctx, rw.ID, codes); err != nil {
				return nil, fmt.Errorf("catalogue entry %q: demo codes: %w", e.Code, err)
			}
		}
	}
	return out, nil
}
