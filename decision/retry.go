package decision

import (
	"fmt"
	"math"
	"strconv"
)

// RetryVar is the environment variable that holds the reconnect policy.
const RetryVar = "RUMPHIJACK_RETRYCONNECT"

// Retry is what a target's calls do when its rump kernel connection is lost,
// as RUMPHIJACK_RETRYCONNECT selects it. A positive Retry is a number of
// seconds to keep reconnecting before giving up; the constants below are the
// other choices, with rumpclient's numbering.
type Retry int

const (
	// RetryNone never reconnects: the lost call and every later rump call fail
	// with ENOTCONN. It is the default.
	RetryNone Retry = 0

	// RetryInfTime keeps reconnecting for as long as it takes.
	RetryInfTime Retry = -1

	// RetryOnce makes a single reconnect attempt and gives up if it fails.
	RetryOnce Retry = -2

	// RetryDie ends the target as soon as the connection is found lost.
	RetryDie Retry = -3
)

const retryAccepted = `must be "inftime", "once", "die", or a whole number of seconds ` +
	`from 0 to 2147483647 (0: never reconnect)`

// RetryFromEnv parses RUMPHIJACK_RETRYCONNECT as the caller found it: value
// is its value and set whether it is set at all (as os.LookupEnv reports). An
// unset variable means RetryNone; a set one must parse, even when empty.
func RetryFromEnv(value string, set bool) (Retry, error) {
	if !set {
		return RetryNone, nil
	}
	return ParseRetry(value)
}

// ParseRetry parses a RUMPHIJACK_RETRYCONNECT value: "inftime", "once", "die"
// (lower case), or a decimal number of seconds up to math.MaxInt32, where 0
// means RetryNone. Anything else, including the empty string, a sign, blanks
// and negative numbers, is a *PolicyError.
//
// NetBSD's rumphijack rejects 0 although its manual documents 0 as "do not
// reconnect"; this follows the manual.
func ParseRetry(s string) (Retry, error) {
	switch s {
	case "inftime":
		return RetryInfTime, nil
	case "once":
		return RetryOnce, nil
	case "die":
		return RetryDie, nil
	}

	seconds, ok := parseDecimal(s, math.MaxInt32)
	if !ok {
		return RetryNone, &PolicyError{Var: RetryVar, Item: s, Reason: retryAccepted}
	}
	return Retry(seconds), nil
}

// String returns r as RUMPHIJACK_RETRYCONNECT text that ParseRetry turns back
// into r: "0", "inftime", "once", "die" or the number of seconds. A negative
// value without a meaning is written as "Retry(N)", which does not parse.
func (r Retry) String() string {
	switch {
	case r == RetryInfTime:
		return "inftime"
	case r == RetryOnce:
		return "once"
	case r == RetryDie:
		return "die"
	case r < 0:
		return fmt.Sprintf("Retry(%d)", int(r))
	}
	return strconv.Itoa(int(r))
}
