// Command giftbymonth is the Promogate programme plugin of the 1C / BAS "ITS
// PROF" incentive programme 2021: members holding an eligible ITS PROF
// contract register by the 28th of the contract's start month and receive a
// gift chosen by that month and the contract's term once the month closes.
// See README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
