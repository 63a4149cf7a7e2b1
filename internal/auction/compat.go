package auction

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The compatibility filter (§2.3). Cells that offer the same root
// filesystems, volume drivers and placement tags share a profile, so an
// item's constraint is checked once per profile, not once per cell, and the
// answer is cached per distinct constraint for the whole round.

// Stages of the filter, in the order the reference checks them. A cell
// "reaches" the stage after the last check it passes.
const (
	stageRootFS  uint8 = iota // rootfs not provided
	stageDrivers              // rootfs ok, a volume driver missing
	stageTags                 // rootfs and drivers ok, placement tags do not match
	stageOK                   // compatible
)

type stringSet map[string]struct{}

func setOf(list []string) stringSet {
	s := make(stringSet, len(list))
	for _, v := range list {
		s[v] = struct{}{}
	}
	return s
}

func (s stringSet) has(v string) bool { _, ok := s[v]; return ok }

// profile is what a group of cells offers.
type profile struct {
	providers map[string]provider
	drivers   stringSet
	required  stringSet
	allTags   stringSet // required ∪ optional
}

type provider struct {
	kind ProviderKind
	set  stringSet
}

func newProfile(c *Cell) *profile {
	p := &profile{
		providers: make(map[string]provider, len(c.RootFSProviders)),
		drivers:   setOf(c.VolumeDrivers),
		required:  setOf(c.PlacementTags),
		allTags:   setOf(c.PlacementTags),
	}
	for scheme, prov := range c.RootFSProviders {
		p.providers[scheme] = provider{kind: prov.Kind, set: setOf(prov.Set)}
	}
	for _, t := range c.OptionalPlacementTags {
		p.allTags[t] = struct{}{}
	}
	return p
}

// profileKey is a canonical, unambiguous encoding of what a cell offers:
// two cells with the same key are interchangeable for the filter.
func profileKey(c *Cell) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	list := func(l []string) {
		s := slices.Clone(l)
		slices.Sort(s)
		s = slices.Compact(s)
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte('[')
		for _, v := range s {
			field(v)
		}
	}
	schemes := make([]string, 0, len(c.RootFSProviders))
	for s := range c.RootFSProviders {
		schemes = append(schemes, s)
	}
	slices.Sort(schemes)
	b.WriteString(strconv.Itoa(len(schemes)))
	for _, s := range schemes {
		p := c.RootFSProviders[s]
		field(s)
		b.WriteString(strconv.Itoa(int(p.Kind)))
		if p.Kind == ProviderFixedSet {
			list(p.Set)
		}
	}
	list(c.VolumeDrivers)
	list(c.PlacementTags)
	// Optional tags that are also required change nothing.
	req := setOf(c.PlacementTags)
	opt := make([]string, 0, len(c.OptionalPlacementTags))
	for _, t := range c.OptionalPlacementTags {
		if !req.has(t) {
			opt = append(opt, t)
		}
	}
	list(opt)
	return b.String()
}

// rootFS is an item's root filesystem URL, parsed once.
type rootFS struct {
	ok             bool // parsed
	scheme, opaque string
}

func parseRootFS(s string) rootFS {
	u, err := url.Parse(s)
	if err != nil {
		return rootFS{}
	}
	return rootFS{ok: true, scheme: u.Scheme, opaque: u.Opaque}
}

// stage returns how far a constraint gets on cells of this profile.
func (p *profile) stage(fs rootFS, c *Constraint) uint8 {
	if !fs.ok {
		return stageRootFS
	}
	prov, ok := p.providers[fs.scheme]
	if !ok {
		return stageRootFS
	}
	switch prov.kind {
	case ProviderArbitrary:
	case ProviderFixedSet:
		if !prov.set.has(fs.opaque) {
			return stageRootFS
		}
	default:
		return stageRootFS
	}
	for _, d := range c.VolumeDrivers {
		if !p.drivers.has(d) {
			return stageDrivers
		}
	}
	// required ⊆ requested ⊆ required ∪ optional
	for _, t := range c.PlacementTags {
		if !p.allTags.has(t) {
			return stageTags
		}
	}
	if len(p.required) > 0 {
		want := setOf(c.PlacementTags)
		for t := range p.required {
			if !want.has(t) {
				return stageTags
			}
		}
	}
	return stageOK
}

// compat is the filter's answer for one constraint.
type compat struct {
	profileOK []bool // per profile
	zoneOK    []bool // per zone: some cell of the zone is compatible
	anyZone   bool
	furthest  uint8 // the furthest stage any cell reached
}

func constraintKey(c *Constraint) string {
	var b strings.Builder
	b.WriteString(c.RootFs)
	for _, l := range [][]string{c.VolumeDrivers, c.PlacementTags} {
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(len(l)))
		for _, v := range l {
			b.WriteByte(0)
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		}
	}
	return b.String()
}

func (rd *round) compatFor(c *Constraint) *compat {
	// Consecutive items are often instances of one app: skip the key.
	if rd.lastCompat != nil && c.RootFs == rd.lastConstraint.RootFs &&
		slices.Equal(c.PlacementTags, rd.lastConstraint.PlacementTags) &&
		slices.Equal(c.VolumeDrivers, rd.lastConstraint.VolumeDrivers) {
		return rd.lastCompat
	}
	cp := rd.compatByKey(c)
	rd.lastConstraint, rd.lastCompat = *c, cp
	return cp
}

func (rd *round) compatByKey(c *Constraint) *compat {
	key := constraintKey(c)
	if cp, ok := rd.compat[key]; ok {
		return cp
	}
	fs := parseRootFS(c.RootFs)
	cp := &compat{profileOK: make([]bool, len(rd.profiles)), zoneOK: make([]bool, len(rd.zones))}
	stages := make([]uint8, len(rd.profiles))
	for i, p := range rd.profiles {
		stages[i] = p.stage(fs, c)
		cp.profileOK[i] = stages[i] == stageOK
	}
	for z := range rd.zones {
		for _, p := range rd.zones[z].profiles {
			cp.furthest = max(cp.furthest, stages[p])
			if stages[p] == stageOK {
				cp.zoneOK[z] = true
				cp.anyZone = true
			}
		}
	}
	rd.compat[key] = cp
	return cp
}

// mismatchMessage is the error of an item no zone is compatible with. The
// reference combines the zones' errors in (random) map order, so with
// several zones it reports one of them; we report the furthest stage any
// zone reached, which is one of the reference's possible answers and the
// one it means to give (README, quirk Q2).
func mismatchMessage(furthest uint8, tags []string) string {
	switch furthest {
	case stageRootFS:
		return MsgRootFSMismatch
	case stageDrivers:
		return MsgVolumeDriverMismatch
	}
	return placementTagMessage(tags)
}

func placementTagMessage(tags []string) string {
	switch len(tags) {
	case 0:
		return "found no compatible cell with no placement tags"
	case 1:
		return `found no compatible cell with placement tag "` + tags[0] + `"`
	}
	quoted := make([]string, len(tags)-1)
	for i, t := range tags[:len(tags)-1] {
		quoted[i] = `"` + t + `"`
	}
	return "found no compatible cell with placement tags " + strings.Join(quoted, ", ") + ` and "` + tags[len(tags)-1] + `"`
}

// Failed resource dimensions, as bits; the message lists them sorted.
const (
	dimContainers = 1 << iota
	dimDisk
	dimMemory
	dimAll = dimContainers | dimDisk | dimMemory
)

func insufficientMessage(dims int) string {
	var names []string
	if dims&dimContainers != 0 {
		names = append(names, "containers")
	}
	if dims&dimDisk != 0 {
		names = append(names, "disk")
	}
	if dims&dimMemory != 0 {
		names = append(names, "memory")
	}
	if len(names) == 0 {
		return MsgInsufficientResources
	}
	return MsgInsufficientResources + ": " + strings.Join(names, ", ")
}
