package gcfloor_test

import (
	"fmt"

	"github.com/forcehttps/forcehttps/internal/gcfloor"
)

// The percent for a live heap of 2 MiB, stacks and globals of 1 MiB and
// a floor of 16 MiB: at 400 %, Go's heap goal is the larger of its
// minimum, 4 MiB scaled to 16 MiB, and the heap's own growth, 2 MiB plus
// 400 % of 3 MiB (14 MiB). Half the floor or more live: GOGC's own
// percent.
func ExamplePercent() {
	const mib = 1 << 20
	fmt.Println(gcfloor.Percent(2*mib, 1*mib, 16*mib, 100))
	fmt.Println(gcfloor.Percent(10*mib, 1*mib, 16*mib, 100))
	// Output:
	// 400
	// 100
}
