package pg_test

import (
	"fmt"

	"github.com/forcehttps/forcehttps/internal/pg"
)

func ExampleRedact() {
	fmt.Println(pg.Redact("postgres://edge:hunter2@db.internal/forcehttps?sslmode=verify-full"))
	fmt.Println(pg.Redact("host=db.internal user=edge password='hunter 2' dbname=forcehttps"))
	// Output:
	// postgres://edge:xxxxx@db.internal/forcehttps?sslmode=verify-full
	// host=db.internal user=edge password=xxxxx dbname=forcehttps
}
