package decision

import (
	"errors"
	"testing"
)

func TestParseRetry(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Retry
		wantErr bool
	}{
		{"inftime retries forever", "inftime", RetryInfTime, false},
		{"once retries once", "once", RetryOnce, false},
		{"die ends the target", "die", RetryDie, false},
		{"zero never reconnects, as the manual says", "0", RetryNone, false},
		{"a number is seconds", "30", Retry(30), false},
		{"one second is accepted", "1", Retry(1), false},
		{"leading zeros are decimal", "010", Retry(10), false},
		{"the largest int32 is accepted", "2147483647", Retry(2147483647), false},

		{"one past the largest int32 is rejected", "2147483648", 0, true},
		{"a number overflowing 64 bits is rejected", "99999999999999999999", 0, true},
		{"a negative number is rejected", "-1", 0, true},
		{"a plus sign is rejected", "+5", 0, true},
		{"a leading blank is rejected", " 5", 0, true},
		{"trailing junk is rejected", "5s", 0, true},
		{"the empty string is rejected", "", 0, true},
		{"keywords are lower case", "INFTIME", 0, true},
		{"an abbreviated keyword is rejected", "inf", 0, true},
		{"a fraction is rejected", "1.5", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRetry(tt.in)
			if tt.wantErr {
				var perr *PolicyError
				if !errors.As(err, &perr) {
					t.Fatalf("ParseRetry(%q) = %v, %v; want a *PolicyError", tt.in, got, err)
				}
				if perr.Var != "RUMPHIJACK_RETRYCONNECT" || perr.Item != tt.in {
					t.Errorf("ParseRetry(%q) error names %s item %q, want "+
						"RUMPHIJACK_RETRYCONNECT item %q", tt.in, perr.Var, perr.Item, tt.in)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRetry(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRetryErrorMessage(t *testing.T) {
	_, err := ParseRetry("-1")
	want := `RUMPHIJACK_RETRYCONNECT: "-1": must be "inftime", "once", "die", or a whole ` +
		`number of seconds from 0 to 2147483647 (0: never reconnect)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseRetry(%q) error = %v, want %s", "-1", err, want)
	}
}

func TestRetryFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		set     bool
		want    Retry
		wantErr bool
	}{
		{"an unset variable never reconnects", "", false, RetryNone, false},
		{"an unset variable ignores the value", "die", false, RetryNone, false},
		{"a set variable is parsed", "once", true, RetryOnce, false},
		{"a set empty variable is an error", "", true, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RetryFromEnv(tt.value, tt.set)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("RetryFromEnv(%q, %v) = %v, %v; want %v, error %v",
					tt.value, tt.set, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRetryString(t *testing.T) {
	tests := []struct {
		name string
		in   Retry
		want string
	}{
		{"no reconnect is 0", RetryNone, "0"},
		{"forever is inftime", RetryInfTime, "inftime"},
		{"one attempt is once", RetryOnce, "once"},
		{"ending the target is die", RetryDie, "die"},
		{"seconds are a number", Retry(45), "45"},
		{"a meaningless negative value is marked", Retry(-4), "Retry(-4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Retry(%d).String() = %q, want %q", int(tt.in), got, tt.want)
			}
			if tt.in < RetryDie {
				return
			}
			if back, err := ParseRetry(tt.want); err != nil || back != tt.in {
				t.Errorf("ParseRetry(%q) = %v, %v; want %v", tt.want, back, err, tt.in)
			}
		})
	}
}
