package gitread

import (
	"container/heap"
	"errors"
)

// ErrBudget means a walk needed more commits than it was allowed; git, which
// walks faster, should take over.
var ErrBudget = errors.New("walk budget exceeded")

// slop is how many commits a walk goes on after only uninteresting ones are
// left, as git's rev-list does, to be robust against small clock skew.
const slop = 5

type node struct {
	c                            *Commit
	seq                          int
	inQueue, done, uninteresting bool
}

type queue []*node

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].c.Time != q[j].c.Time {
		return q[i].c.Time > q[j].c.Time
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*node)) }
func (q *queue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

type walker struct {
	r      *Repo
	nodes  map[Hash]*node
	budget int
	seq    int
}

func (r *Repo) newWalker(budget int) *walker {
	return &walker{r: r, nodes: map[Hash]*node{}, budget: budget}
}

func (w *walker) node(h Hash) (*node, error) {
	if n, ok := w.nodes[h]; ok {
		return n, nil
	}
	if len(w.nodes) >= w.budget {
		return nil, ErrBudget
	}
	c, err := w.r.Commit(h)
	if err != nil {
		return nil, err
	}
	w.seq++
	n := &node{c: c, seq: w.seq}
	w.nodes[h] = n
	return n, nil
}

// Count counts the commits reachable from tip and from none of exclude, like
// `git rev-list --count tip ^exclude...`, reading at most budget commits.
func (r *Repo) Count(tip Hash, exclude []Hash, budget int) (int, error) {
	w := r.newWalker(budget)
	q := &queue{}
	interesting := 0
	push := func(n *node) {
		if !n.inQueue && !n.done {
			n.inQueue = true
			heap.Push(q, n)
			if !n.uninteresting {
				interesting++
			}
		}
	}
	// markDown flags a commit and, if it was already walked, its ancestors.
	markDown := func(n *node) error {
		stack := []*node{n}
		for len(stack) > 0 {
			m := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if m.uninteresting {
				continue
			}
			m.uninteresting = true
			if m.inQueue {
				interesting--
			}
			if m.done {
				for _, p := range m.c.Parents {
					pn, err := w.node(p)
					if err != nil {
						return err
					}
					stack = append(stack, pn)
				}
			}
		}
		return nil
	}
	for _, e := range exclude {
		n, err := w.node(e)
		if err != nil {
			return 0, err
		}
		n.uninteresting = true
		push(n)
	}
	t, err := w.node(tip)
	if err != nil {
		return 0, err
	}
	push(t)
	var walked []*node
	left := slop
	for q.Len() > 0 {
		n := heap.Pop(q).(*node)
		n.inQueue = false
		if !n.uninteresting {
			interesting--
		}
		n.done = true
		for _, p := range n.c.Parents {
			pn, err := w.node(p)
			if err != nil {
				return 0, err
			}
			if n.uninteresting {
				if err := markDown(pn); err != nil {
					return 0, err
				}
			}
			push(pn)
		}
		if !n.uninteresting {
			walked = append(walked, n)
		}
		if interesting == 0 {
			if left--; left <= 0 {
				break
			}
		} else {
			left = slop
		}
	}
	count := 0
	for _, n := range walked {
		if !n.uninteresting {
			count++
		}
	}
	return count, nil
}

// IsAncestor reports whether a is b or an ancestor of b, like
// `git merge-base --is-ancestor a b`. It walks b's history newest first and
// stops a few commits (slop) after those older than a, reading at most budget
// commits.
func (r *Repo) IsAncestor(a, b Hash, budget int) (bool, error) {
	if a == b {
		return true, nil
	}
	w := r.newWalker(budget)
	an, err := w.node(a)
	if err != nil {
		return false, err
	}
	bn, err := w.node(b)
	if err != nil {
		return false, err
	}
	q := &queue{bn}
	bn.inQueue = true
	older := 0
	for q.Len() > 0 {
		n := heap.Pop(q).(*node)
		if n.c.Hash == a {
			return true, nil
		}
		if n.c.Time < an.c.Time {
			if older++; older > slop {
				return false, nil
			}
		}
		for _, p := range n.c.Parents {
			pn, err := w.node(p)
			if err != nil {
				return false, err
			}
			if !pn.inQueue {
				pn.inQueue = true
				heap.Push(q, pn)
			}
		}
	}
	return false, nil
}
