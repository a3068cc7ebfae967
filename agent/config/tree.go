package config

import "strings"

// stmt is one statement: a keyword, its arguments on the same line, and
// optionally a { } block of further statements.
type stmt struct {
	key      token
	args     []token
	hasBlock bool
	block    []*stmt
}

func (s *stmt) pos() Pos { return s.key.pos }

// name is the keyword followed by its arguments, for messages.
func (s *stmt) name() string {
	parts := []string{s.key.text}
	for _, a := range s.args {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, " ")
}

// values returns the keyword and arguments of a statement as plain words,
// for blocks that are lists of values (notification_email, group, ...).
func (s *stmt) values() []token {
	return append([]token{s.key}, s.args...)
}

// buildTree nests a token stream into statements. A statement ends at the
// end of its line, at "{" (which opens its block) or at "}"; a "{" alone on
// a line opens the block of the statement on the line before it, as
// keepalived allows. Brace errors are reported with the position of the
// stray brace or of the statement whose block is never closed.
func buildTree(toks []token, diags *diagnostics) []*stmt {
	root := &stmt{hasBlock: true}
	stack := []*stmt{root}
	var cur *stmt // statement being built on the current line, if any

	for _, t := range toks {
		top := stack[len(stack)-1]
		if cur != nil && t.line != cur.key.line {
			cur = nil
		}
		switch t.kind {
		case tokWord:
			if cur == nil {
				cur = &stmt{key: t}
				top.block = append(top.block, cur)
			} else {
				cur.args = append(cur.args, t)
			}
		case tokOpen:
			owner := cur
			if owner == nil && len(top.block) > 0 && !top.block[len(top.block)-1].hasBlock {
				owner = top.block[len(top.block)-1]
			}
			if owner == nil || owner.hasBlock {
				diags.errorf(t.pos, "unexpected '{'")
				// Keep braces balanced with a block that belongs nowhere.
				owner = &stmt{key: token{kind: tokWord, text: "{", pos: t.pos}}
			}
			owner.hasBlock = true
			stack = append(stack, owner)
			cur = nil
		case tokClose:
			if len(stack) == 1 {
				diags.errorf(t.pos, "unexpected '}' (no block is open)")
				continue
			}
			stack = stack[:len(stack)-1]
			cur = nil
		}
	}
	for i := len(stack) - 1; i > 0; i-- {
		diags.errorf(stack[i].pos(), "block %q is not closed: missing '}'", stack[i].name())
	}
	return root.block
}
