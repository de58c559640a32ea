// Command tierstatus is the Promogate programme plugin of the Rostelecom
// "Bonus" programme: points for joining, actions, top-ups and payments,
// four statuses with catalogue discounts reached by status points, a
// rewards catalogue exchanged at most once a month, and points that expire
// after 24 months. See README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
