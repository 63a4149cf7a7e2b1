package models

import "testing"

func TestRequestValidation(t *testing.T) {
	key := func() *ActualLRPKey { return &ActualLRPKey{ProcessGuid: "p", Index: 0, Domain: "d"} }
	ikey := func() *ActualLRPInstanceKey { return &ActualLRPInstanceKey{InstanceGuid: "i", CellId: "c"} }
	net := func() *ActualLRPNetInfo { return &ActualLRPNetInfo{Address: "10.0.0.1"} }
	const (
		noKey     = "Invalid field: actual_lrp_key"
		noIKey    = "Invalid field: actual_lrp_instance_key"
		noNet     = "Invalid field: actual_lrp_net_info"
		emptyKey  = "Invalid field: process_guid, Invalid field: domain"
		emptyIKey = "Invalid field: cell_id, Invalid field: instance_guid"
	)
	cases := []struct {
		name string
		req  interface{ Validate() error }
		want string
	}{
		// Always valid.
		{"actual lrps", &ActualLRPsRequest{}, ""},
		{"groups", &ActualLRPGroupsRequest{}, ""},
		{"desired lrps", &DesiredLRPsRequest{}, ""},
		{"tasks", &TasksRequest{}, ""},
		{"events by cell", &EventsByCellId{}, ""},

		{"by process guids", &ActualLRPsByProcessGuidsRequest{ProcessGuids: []string{""}}, ""},
		{"by process guids empty", &ActualLRPsByProcessGuidsRequest{}, "process_guids must not be empty"},
		{"groups by guid", &ActualLRPGroupsByProcessGuidRequest{ProcessGuid: "p"}, ""},
		{"groups by guid empty", &ActualLRPGroupsByProcessGuidRequest{}, "Invalid field: process_guid"},
		{"group by guid and index", &ActualLRPGroupByProcessGuidAndIndexRequest{ProcessGuid: "p"}, ""},
		{"group by guid and index bad", &ActualLRPGroupByProcessGuidAndIndexRequest{Index: -1},
			"Invalid field: process_guid, Invalid field: index"},

		{"claim", &ClaimActualLRPRequest{ProcessGuid: "p", Index: -1, ActualLrpInstanceKey: ikey()}, ""},
		{"claim without key", &ClaimActualLRPRequest{}, "Invalid field: process_guid, " + noIKey},
		{"claim empty key", &ClaimActualLRPRequest{ProcessGuid: "p", ActualLrpInstanceKey: &ActualLRPInstanceKey{}}, emptyIKey},
		{"start", &StartActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey(), ActualLrpNetInfo: net()}, ""},
		{"start empty", &StartActualLRPRequest{}, noKey + ", " + noIKey + ", " + noNet},
		{"start empty parts", &StartActualLRPRequest{ActualLrpKey: &ActualLRPKey{Index: -1}, ActualLrpInstanceKey: &ActualLRPInstanceKey{},
			ActualLrpNetInfo: &ActualLRPNetInfo{InstanceAddress: "x"}},
			"Invalid field: process_guid, Invalid field: index, Invalid field: domain, " + emptyIKey + ", Invalid field: address"},
		{"crash", &CrashActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()}, ""},
		{"crash empty", &CrashActualLRPRequest{}, noKey + ", " + noIKey},
		{"fail", &FailActualLRPRequest{ActualLrpKey: key(), ErrorMessage: "no cells"}, ""},
		{"fail empty", &FailActualLRPRequest{}, noKey + ", Invalid field: error_message"},
		{"retire", &RetireActualLRPRequest{ActualLrpKey: key()}, ""},
		{"retire empty key", &RetireActualLRPRequest{ActualLrpKey: &ActualLRPKey{}}, emptyKey},
		{"remove", &RemoveActualLRPRequest{ProcessGuid: "p", ActualLrpInstanceKey: &ActualLRPInstanceKey{}}, ""},
		{"remove empty", &RemoveActualLRPRequest{Index: -2}, "Invalid field: process_guid, Invalid field: index"},

		{"remove evacuating", &RemoveEvacuatingActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()}, ""},
		{"remove evacuating empty", &RemoveEvacuatingActualLRPRequest{}, noKey + ", " + noIKey},
		{"evacuate claimed", &EvacuateClaimedActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()}, ""},
		{"evacuate claimed empty", &EvacuateClaimedActualLRPRequest{}, noKey + ", " + noIKey},
		{"evacuate running", &EvacuateRunningActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey(), ActualLrpNetInfo: net()}, ""},
		{"evacuate running without net info", &EvacuateRunningActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()}, noNet},
		{"evacuate running empty address", &EvacuateRunningActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey(),
			ActualLrpNetInfo: &ActualLRPNetInfo{}}, "Invalid field: address"},
		{"evacuate stopped", &EvacuateStoppedActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()}, ""},
		{"evacuate stopped empty", &EvacuateStoppedActualLRPRequest{ActualLrpKey: &ActualLRPKey{}, ActualLrpInstanceKey: &ActualLRPInstanceKey{}},
			emptyKey + ", " + emptyIKey},
		{"evacuate crashed", &EvacuateCrashedActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey(), ErrorMessage: "x"}, ""},
		{"evacuate crashed without message", &EvacuateCrashedActualLRPRequest{ActualLrpKey: key(), ActualLrpInstanceKey: ikey()},
			"Invalid field: error_message"},

		{"desired by guid", &DesiredLRPByProcessGuidRequest{ProcessGuid: "p"}, ""},
		{"desired by guid empty", &DesiredLRPByProcessGuidRequest{}, "Invalid field: process_guid"},
		{"remove desired", &RemoveDesiredLRPRequest{ProcessGuid: "p"}, ""},
		{"remove desired empty", &RemoveDesiredLRPRequest{}, "Invalid field: process_guid"},

		{"start task", &StartTaskRequest{TaskGuid: "t-1", CellId: "c"}, ""},
		{"start task bad", &StartTaskRequest{TaskGuid: "t.1"}, "Invalid field: task_guid, Invalid field: cell_id"},
		{"complete task", &CompleteTaskRequest{TaskGuid: "t_1", CellId: "c"}, ""},
		{"complete task bad", &CompleteTaskRequest{}, "Invalid field: task_guid, Invalid field: cell_id"},
		{"fail task", &FailTaskRequest{TaskGuid: "t", FailureReason: "r"}, ""},
		{"fail task bad", &FailTaskRequest{TaskGuid: "t t"}, "Invalid field: task_guid, Invalid field: failure_reason"},
		{"reject task", &RejectTaskRequest{TaskGuid: "t", RejectionReason: "r"}, ""},
		{"reject task names its reason failure_reason", &RejectTaskRequest{TaskGuid: "t"}, "Invalid field: failure_reason"},
		{"task by guid, any text", &TaskByGuidRequest{TaskGuid: "a b"}, ""},
		{"task by guid empty", &TaskByGuidRequest{}, "Invalid field: task_guid"},
		{"task guid, any text", &TaskGuidRequest{TaskGuid: "a/b"}, ""},
		{"task guid empty", &TaskGuidRequest{}, "Invalid field: task_guid"},
		{"upsert domain", &UpsertDomainRequest{Domain: "cf-apps"}, ""},
		{"upsert domain empty", &UpsertDomainRequest{Ttl: 5}, "Invalid field: domain"},

		{"lrp key", key(), ""},
		{"instance key", ikey(), ""},
		{"net info", net(), ""},
		{"nil request reads as empty", (*StartTaskRequest)(nil), "Invalid field: task_guid, Invalid field: cell_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, c.req.Validate(), c.want)
		})
	}
}
