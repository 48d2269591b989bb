package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// loginForm asks for a username and a password, to log in or to sign up.
type loginForm struct {
	user, pass textinput.Model
	signup     bool // sign up, then log in
	busy       bool // a request is on its way
	err        string
}

func newLoginForm(user string) loginForm {
	u := textinput.New()
	u.Prompt = "username: "
	u.CharLimit = 32
	u.SetValue(user)
	p := textinput.New()
	p.Prompt = "password: "
	p.EchoMode = textinput.EchoPassword
	p.EchoCharacter = '*'
	p.CharLimit = 256
	f := loginForm{user: u, pass: p}
	if user == "" {
		f.user.Focus()
	} else {
		f.pass.Focus()
	}
	return f
}

// submit is what the form asks for when the user presses Enter on a
// complete form.
type submit struct {
	user, pass string
	signup     bool
}

// update handles a key; a non-nil submit means log in (or sign up) now.
func (f *loginForm) update(msg tea.KeyMsg) (*submit, tea.Cmd) {
	if f.busy {
		return nil, nil
	}
	switch msg.Type {
	case tea.KeyCtrlT:
		f.signup = !f.signup
		f.err = ""
		return nil, nil
	case tea.KeyTab, tea.KeyShiftTab, tea.KeyUp, tea.KeyDown:
		f.toggleFocus()
		return nil, nil
	case tea.KeyEnter:
		if f.user.Focused() {
			f.toggleFocus()
			return nil, nil
		}
		u := strings.ToLower(strings.TrimSpace(f.user.Value()))
		switch {
		case u == "":
			f.err = "enter a username"
			return nil, nil
		case f.pass.Value() == "":
			f.err = "enter a password"
			return nil, nil
		}
		f.busy, f.err = true, ""
		return &submit{user: u, pass: f.pass.Value(), signup: f.signup}, nil
	}
	var cmd tea.Cmd
	if f.user.Focused() {
		f.user, cmd = f.user.Update(msg)
	} else {
		f.pass, cmd = f.pass.Update(msg)
	}
	return nil, cmd
}

func (f *loginForm) toggleFocus() {
	if f.user.Focused() {
		f.user.Blur()
		f.pass.Focus()
	} else {
		f.pass.Blur()
		f.user.Focus()
	}
}

// failed shows why the login did not work and lets the user try again.
func (f *loginForm) failed(msg string) {
	f.busy, f.err = false, msg
	f.pass.SetValue("")
	f.user.Blur()
	f.pass.Focus()
}

func (f *loginForm) view(server string, width int) string {
	title := "Log in"
	other := "Ctrl+T: sign up instead"
	if f.signup {
		title, other = "Sign up", "Ctrl+T: log in instead"
	}
	var b strings.Builder
	b.WriteString(titleStyle.Render("Switchboard · "+title) + "\n")
	b.WriteString(dimStyle.Render(server) + "\n\n")
	b.WriteString(f.user.View() + "\n")
	b.WriteString(f.pass.View() + "\n\n")
	switch {
	case f.busy:
		b.WriteString(dimStyle.Render("working…") + "\n")
	case f.err != "":
		b.WriteString(errStyle.Render(f.err) + "\n")
	default:
		b.WriteString("\n")
	}
	b.WriteString(dimStyle.Render("Enter: next / submit · Tab: switch field · " + other + " · Ctrl+C: quit"))
	return lipgloss.NewStyle().Padding(1, 2).MaxWidth(max(width, 20)).Render(b.String())
}
