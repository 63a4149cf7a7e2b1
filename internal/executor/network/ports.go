package network

import (
	"fmt"
	"sync"
)

// portPool hands out the host ports of a cell's range. Like Garden's pool it
// is first-in first-out: a released port goes to the back of the queue, so
// a port is reused as late as possible.
type portPool struct {
	start, end uint16

	mu   sync.Mutex
	free []uint16 // queue; the head is free[0]
	used map[uint16]bool
}

func newPortPool(start, end uint16) *portPool {
	p := &portPool{start: start, end: end}
	p.reset()
	return p
}

// reset makes every port of the range free again, in ascending order.
func (p *portPool) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = make([]uint16, 0, int(p.end)-int(p.start)+1)
	for port := int(p.start); port <= int(p.end); port++ {
		p.free = append(p.free, uint16(port))
	}
	p.used = map[uint16]bool{}
}

// acquire takes n ports, all or none.
func (p *portPool) acquire(n int) ([]uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > len(p.free) {
		return nil, fmt.Errorf("%w: %d host ports wanted, %d of %d-%d free", ErrPortsExhausted, n, len(p.free), p.start, p.end)
	}
	ports := make([]uint16, n)
	copy(ports, p.free[:n])
	p.free = p.free[n:]
	for _, port := range ports {
		p.used[port] = true
	}
	return ports, nil
}

// release returns ports to the pool. Ports outside the range or not taken
// (a second release, a previous run's record) are ignored.
func (p *portPool) release(ports []uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, port := range ports {
		if p.used[port] {
			delete(p.used, port)
			p.free = append(p.free, port)
		}
	}
}

// inUse returns how many ports are taken.
func (p *portPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}
