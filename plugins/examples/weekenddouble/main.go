// Command weekenddouble is a sample Promogate program plugin: points for
// purchases, doubled at weekends in the campaign's time zone. See README.md.
package main

import "github.com/promogate/promogate/plugins/sdk"

func main() {
	sdk.Serve(Plugin{})
}
