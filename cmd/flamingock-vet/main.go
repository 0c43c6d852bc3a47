package main

import (
	"github.com/flamingock/flamingock-go/annotations/lint"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(lint.Analyzer) }
