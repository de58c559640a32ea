// Command earntable is the Promogate programme plugin of the "VashPlus"
// bonus programme: bonuses per interaction from an accrual table, for clients
// registered in the programme's cabinet or linked to a bonus account, spent
// in a shop, on services or on up to half of a seminar's price. See
// README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
