// Command referral is the Promogate programme plugin of t2's "Corporate PBX"
// referral programme: a new client who applies a friend's invite code gets
// 20% off for three months, and the friend climbs a discount ladder with SMS
// packages at three and five friends. See README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
