package models

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

// benchActualLRPs builds a response shaped like a real list answer: RUNNING
// instances with keys, net info, a modification tag and metric tags.
func benchActualLRPs(n int) *ActualLRPsResponse {
	resp := &ActualLRPsResponse{ActualLrps: make([]*ActualLRP, n)}
	routable := true
	for i := range resp.ActualLrps {
		resp.ActualLrps[i] = &ActualLRP{
			ActualLrpKey:         &ActualLRPKey{ProcessGuid: fmt.Sprintf("app-%d-v1", i/4), Index: int32(i % 4), Domain: "cf-apps"},
			ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: fmt.Sprintf("ig-%08d", i), CellId: fmt.Sprintf("cell-%d", i%100)},
			ActualLrpNetInfo: &ActualLRPNetInfo{
				Address:         "10.0.1.5",
				Ports:           []*PortMapping{{ContainerPort: 8080, HostPort: 61000 + uint32(i%1000)}},
				InstanceAddress: "10.255.0.7",
			},
			State:            "RUNNING",
			Since:            1700000000000000000 + int64(i),
			ModificationTag:  &ModificationTag{Epoch: "6f1c4ad4-2e5d-4b8b-9a3e-1c2d3e4f5a6b", Index: 2},
			MetricTags:       map[string]string{"app_id": "app"},
			Routable:         &routable,
			AvailabilityZone: "z1",
		}
	}
	return resp
}

func BenchmarkMarshalActualLRPs(b *testing.B) {
	resp := benchActualLRPs(10000)
	b.Run("proto.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := proto.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("models.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FillNonNullable", func(b *testing.B) {
		for b.Loop() {
			FillNonNullable(resp)
		}
	})
}
