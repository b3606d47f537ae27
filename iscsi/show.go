package iscsi

import (
	"fmt"
	"strconv"
	"strings"
)

// shownTarget is one target of `tgtadm --lld iscsi --op show --mode target`.
type shownTarget struct {
	TID      int
	IQN      string
	State    string // "ready" or "offline"
	Nexuses  []shownNexus
	LUNs     []shownLUN // LUN 0 (the controller) included
	Accounts []string   // bound CHAP user names ("(outgoing)" stripped)
	ACLs     []string   // allowed initiator names
}

// shownNexus is one I_T nexus (a session) of a target.
type shownNexus struct {
	ID        string
	Initiator string
	Addresses []string // one per connection
}

// shownLUN is one logical unit of a target.
type shownLUN struct {
	Number      int
	Type        string
	Serial      string // SCSI SN
	ReadOnly    bool
	BackingType string
	BackingPath string
}

// parseShow parses the output of `tgtadm --lld iscsi --op show --mode
// target`: targets at column 0, their sections indented by 4, entries by 8,
// fields by 12 and connection fields by 16. Unknown fields are ignored; a
// line that fits nowhere is an error, so that a format change is noticed.
func parseShow(out string) ([]shownTarget, error) {
	var (
		targets []shownTarget
		section string
	)
	for n, raw := range strings.Split(out, "\n") {
		line := strings.TrimRight(raw, " \t\r")
		if line == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := line[indent:]
		bad := func(why string) error {
			return fmt.Errorf("tgtadm show: line %d %q: %s", n+1, line, why)
		}
		if indent == 0 {
			t, err := parseTargetLine(text)
			if err != nil {
				return nil, bad(err.Error())
			}
			targets = append(targets, t)
			section = ""
			continue
		}
		if len(targets) == 0 {
			return nil, bad("before any target")
		}
		t := &targets[len(targets)-1]
		switch {
		case indent == 4:
			section = strings.TrimSuffix(text, ":")
		case indent >= 8:
			if err := t.addLine(section, indent, text); err != nil {
				return nil, bad(err.Error())
			}
		default:
			return nil, bad("unexpected indentation")
		}
	}
	return targets, nil
}

// parseTargetLine parses "Target <tid>: <iqn>".
func parseTargetLine(text string) (shownTarget, error) {
	rest, ok := strings.CutPrefix(text, "Target ")
	if !ok {
		return shownTarget{}, fmt.Errorf("not a target line")
	}
	num, iqn, ok := strings.Cut(rest, ": ")
	if !ok {
		return shownTarget{}, fmt.Errorf("no target name")
	}
	tid, err := strconv.Atoi(num)
	if err != nil || tid <= 0 {
		return shownTarget{}, fmt.Errorf("bad target id %q", num)
	}
	iqn = strings.TrimSpace(iqn)
	if iqn == "" {
		return shownTarget{}, fmt.Errorf("empty target name")
	}
	return shownTarget{TID: tid, IQN: iqn}, nil
}

// addLine adds one indented line of section to t.
func (t *shownTarget) addLine(section string, indent int, text string) error {
	switch section {
	case "System information":
		if v, ok := strings.CutPrefix(text, "State: "); ok {
			t.State = strings.TrimSpace(v)
		}
	case "I_T nexus information":
		return t.addNexusLine(indent, text)
	case "LUN information":
		return t.addLUNLine(indent, text)
	case "Account information":
		if indent == 8 {
			t.Accounts = append(t.Accounts, strings.TrimSuffix(text, " (outgoing)"))
		}
	case "ACL information":
		if indent == 8 {
			t.ACLs = append(t.ACLs, text)
		}
	default:
		return fmt.Errorf("entry outside a known section %q", section)
	}
	return nil
}

func (t *shownTarget) addNexusLine(indent int, text string) error {
	if indent == 8 {
		id, ok := strings.CutPrefix(text, "I_T nexus: ")
		if !ok {
			return fmt.Errorf("expected an I_T nexus")
		}
		t.Nexuses = append(t.Nexuses, shownNexus{ID: strings.TrimSpace(id)})
		return nil
	}
	if len(t.Nexuses) == 0 {
		return fmt.Errorf("nexus field before any nexus")
	}
	nx := &t.Nexuses[len(t.Nexuses)-1]
	if v, ok := strings.CutPrefix(text, "Initiator: "); ok {
		// "Initiator: <name> alias: <alias>"
		if f := strings.Fields(v); len(f) > 0 {
			nx.Initiator = f[0]
		}
	} else if v, ok := strings.CutPrefix(text, "IP Address: "); ok {
		nx.Addresses = append(nx.Addresses, strings.TrimSpace(v))
	}
	return nil
}

func (t *shownTarget) addLUNLine(indent int, text string) error {
	if indent == 8 {
		num, ok := strings.CutPrefix(text, "LUN: ")
		if !ok {
			return fmt.Errorf("expected a LUN")
		}
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || n < 0 {
			return fmt.Errorf("bad LUN number %q", num)
		}
		t.LUNs = append(t.LUNs, shownLUN{Number: n})
		return nil
	}
	if len(t.LUNs) == 0 {
		return fmt.Errorf("LUN field before any LUN")
	}
	lun := &t.LUNs[len(t.LUNs)-1]
	key, value, _ := strings.Cut(text, ":")
	value = strings.TrimSpace(value)
	switch key {
	case "Type":
		lun.Type = value
	case "SCSI SN":
		lun.Serial = value
	case "Readonly":
		lun.ReadOnly = value == "Yes"
	case "Backing store type":
		lun.BackingType = value
	case "Backing store path":
		lun.BackingPath = value
	}
	return nil
}
