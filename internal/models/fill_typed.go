package models

// Direct fill methods for the six messages that own non-nullable fields.
// The descriptor walk in marshal.go calls them instead of reflecting, which
// matters for lists of 100,000s of ActualLRPs. TestTypedFillMatchesTable
// checks that they set exactly the fields of the nonNullable table.

// nonNullableFiller is implemented by messages listed in nonNullable.
type nonNullableFiller interface {
	fillOwnNonNullable()
}

func (x *ActualLRP) fillOwnNonNullable() {
	if x.ActualLrpKey == nil {
		x.ActualLrpKey = &ActualLRPKey{}
	}
	if x.ActualLrpInstanceKey == nil {
		x.ActualLrpInstanceKey = &ActualLRPInstanceKey{}
	}
	if x.ActualLrpNetInfo == nil {
		x.ActualLrpNetInfo = &ActualLRPNetInfo{}
	}
	if x.ModificationTag == nil {
		x.ModificationTag = &ModificationTag{}
	}
}

func (x *ActualLRPInfo) fillOwnNonNullable() {
	if x.ActualLrpNetInfo == nil {
		x.ActualLrpNetInfo = &ActualLRPNetInfo{}
	}
	if x.ModificationTag == nil {
		x.ModificationTag = &ModificationTag{}
	}
}

func (x *ActualLRPInstanceChangedEvent) fillOwnNonNullable() {
	if x.ActualLrpKey == nil {
		x.ActualLrpKey = &ActualLRPKey{}
	}
	if x.ActualLrpInstanceKey == nil {
		x.ActualLrpInstanceKey = &ActualLRPInstanceKey{}
	}
}

func (x *ActualLRPCrashedEvent) fillOwnNonNullable() {
	if x.ActualLrpKey == nil {
		x.ActualLrpKey = &ActualLRPKey{}
	}
	if x.ActualLrpInstanceKey == nil {
		x.ActualLrpInstanceKey = &ActualLRPInstanceKey{}
	}
}

func (x *DesiredLRPSchedulingInfo) fillOwnNonNullable() {
	if x.DesiredLrpKey == nil {
		x.DesiredLrpKey = &DesiredLRPKey{}
	}
	if x.DesiredLrpResource == nil {
		x.DesiredLrpResource = &DesiredLRPResource{}
	}
	if x.Routes == nil {
		x.Routes = &ProtoRoutes{}
	}
	if x.ModificationTag == nil {
		x.ModificationTag = &ModificationTag{}
	}
}

func (x *DesiredLRPRunInfo) fillOwnNonNullable() {
	if x.DesiredLrpKey == nil {
		x.DesiredLrpKey = &DesiredLRPKey{}
	}
}
