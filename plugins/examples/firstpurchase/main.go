// Command firstpurchase is a Promogate programme plugin that credits a bonus for a member's first
// purchase. It is the template of docs/partners.md: copy this directory to start a plugin.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() { sdk.Serve(Plugin{}) }
