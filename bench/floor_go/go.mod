module bindcheck.dev/benchfloor

go 1.22
