// Command tariffpromo is the Promogate programme plugin of A1's "Switch on the
// summer of unlimited" 2023 promotion: a discount on the monthly fee of a
// participating tariff plan for six months, free add-on services for 90 days
// and a VOKA video promo code by SMS. See README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
