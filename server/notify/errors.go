package notify

import (
	"errors"

	"github.com/promogate/promogate/db"
)

// Errors returned by the package. Callers match them with errors.Is.
var (
	// ErrInvalidNotification means a field of a notification is not acceptable (key, member id,
	// channel, template, recipient length or params); the message names it.
	ErrInvalidNotification = errors.New("invalid notification")
	// ErrNoRecipient means a notification has an empty recipient. The engine fills an empty
	// effect recipient from the member's phone (sms) or e-mail before it enqueues; this error
	// means the member has neither for the channel.
	ErrNoRecipient = errors.New("notification has no recipient")
	// ErrMemberNotFound means no member has the notification's member id.
	ErrMemberNotFound = db.NotFound("member not found")
	// ErrCampaignNotFound means no campaign has the notification's campaign id.
	ErrCampaignNotFound = db.NotFound("campaign not found")
	// ErrEventNotFound means no event has the notification's event id.
	ErrEventNotFound = db.NotFound("event not found")
	// ErrNotFound means no notification has the given id.
	ErrNotFound = db.NotFound("notification not found")
	// ErrNoWebhook means the dispatcher has no webhook URL configured.
	ErrNoWebhook = errors.New("no webhook URL configured")
)
