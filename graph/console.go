package graph

// defaultFigureDays and maxFigureDays are the default and the longest period of Campaign.figures.
const (
	defaultFigureDays = 30
	maxFigureDays     = 366
)
