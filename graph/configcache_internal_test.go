package graph

import (
	"encoding/json"
	"testing"

	"github.com/promogate/promogate/server/campaigns"
)

// TestConfigCacheDecodesOnce checks that a campaign's configuration is decoded once while it
// stays the same, and afresh when it changes.
func TestConfigCacheDecodesOnce(t *testing.T) {
	var cc configCache
	c := &campaigns.Campaign{ID: 7, Config: json.RawMessage(`{"level": 1}`)}
	first, err := cc.of(c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := cc.of(&campaigns.Campaign{ID: 7, Config: json.RawMessage(`{"level": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	first["marker"] = true // the same map: the second call decoded nothing
	if again["marker"] != true {
		t.Errorf("the same configuration was decoded twice: %v, %v", first, again)
	}
	changed, err := cc.of(&campaigns.Campaign{ID: 7, Config: json.RawMessage(`{"level": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if changed["level"] != float64(2) || changed["marker"] != nil {
		t.Errorf("changed configuration: got %v, want map[level:2]", changed)
	}
	other, err := cc.of(&campaigns.Campaign{ID: 8, Config: json.RawMessage(`[1]`)})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := other["value"].(json.RawMessage); !ok || string(v) != "[1]" {
		t.Errorf("a configuration that is not an object: got %v, want it wrapped as value", other)
	}
}
