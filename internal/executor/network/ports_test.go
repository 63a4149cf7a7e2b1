package network

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestPortPool(t *testing.T) {
	p := newPortPool(100, 104)
	a, err := p.acquire(2)
	if err != nil || !slices.Equal(a, []uint16{100, 101}) {
		t.Fatalf("acquire(2) = %v, %v", a, err)
	}
	if _, err := p.acquire(4); !errors.Is(err, ErrPortsExhausted) {
		t.Errorf("acquire(4) with 3 free = %v, want ErrPortsExhausted", err)
	}
	// All or nothing: the failed acquire took none.
	if n := p.inUse(); n != 2 {
		t.Errorf("in use = %d, want 2", n)
	}
	p.release([]uint16{100, 100, 999})
	// FIFO: the released port comes after the never-used ones.
	b, err := p.acquire(4)
	if err != nil || !slices.Equal(b, []uint16{102, 103, 104, 100}) {
		t.Errorf("acquire(4) = %v, %v; want 102 103 104 100", b, err)
	}
	p.reset()
	if n := p.inUse(); n != 0 {
		t.Errorf("in use after reset = %d", n)
	}
	if c, _ := p.acquire(1); !slices.Equal(c, []uint16{100}) {
		t.Errorf("first port after reset = %v, want 100", c)
	}
}

func TestPortPoolConcurrent(t *testing.T) {
	p := newPortPool(1000, 1999)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[uint16]int{}
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				ports, err := p.acquire(3)
				if err != nil {
					continue
				}
				mu.Lock()
				for _, port := range ports {
					if seen[port] != 0 {
						t.Errorf("port %d handed out twice", port)
					}
					seen[port]++
				}
				seen[ports[0]]--
				mu.Unlock()
				p.release(ports[:1])
			}
		}()
	}
	wg.Wait()
	held := 0
	for port, n := range seen {
		if n < 0 || n > 1 {
			t.Fatalf("port %d held %d times", port, n)
		}
		held += n
	}
	if held != p.inUse() {
		t.Errorf("%d ports held, pool says %d", held, p.inUse())
	}
}
