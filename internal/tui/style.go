package tui

import "github.com/charmbracelet/lipgloss"

// The few styles the screens share. Colours are ANSI ones, so the
// terminal's theme decides the shades; nothing relies on colour alone
// (ticks, presence and unread counts are characters too).
var (
	titleStyle    = lipgloss.NewStyle().Bold(true)
	dimStyle      = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
	errStyle      = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	okStyle       = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	warnStyle     = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	selectedStyle = lipgloss.NewStyle().Reverse(true)
	unreadStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
	ownStyle      = lipgloss.NewStyle().Foreground(lipgloss.Color("4"))
	readStyle     = lipgloss.NewStyle().Foreground(lipgloss.Color("6"))
	borderStyle   = lipgloss.NewStyle().BorderStyle(lipgloss.NormalBorder()).BorderRight(true).
			BorderForeground(lipgloss.Color("8"))
)
