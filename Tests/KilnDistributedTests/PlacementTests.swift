// How ranks share a global batch and a host's cores, and how a process learns that mpirun started it: rules
// that need no MPI to check.
import KilnDistributed
import XCTest

final class PlacementTests: XCTestCase {
    func testSharesCoverTheBatchAndDifferByAtMostOne() {
        for (count, size) in [(64, 1), (64, 2), (64, 3), (64, 4), (1, 1), (7, 7), (97, 5), (10_000, 3), (5, 8)] {
            let shares = (0..<size).map { DistributedTrainer.share(of: count, rank: $0, size: size) }
            XCTAssertEqual(shares.first?.lowerBound, 0, "\(count) over \(size)")
            XCTAssertEqual(shares.last?.upperBound, count, "\(count) over \(size)")
            for (left, right) in zip(shares, shares.dropFirst()) {
                XCTAssertEqual(left.upperBound, right.lowerBound, "\(count) over \(size)")
            }
            let sizes = shares.map(\.count)
            XCTAssertLessThanOrEqual((sizes.max() ?? 0) - (sizes.min() ?? 0), 1, "\(count) over \(size): \(sizes)")
        }
    }

    func testCoresAreDividedAmongTheRanksOfAHost() {
        XCTAssertEqual(CoreShare(localRank: 0, localSize: 1, onlineCores: 2, allowedCores: 2).threads, 2)
        XCTAssertEqual(CoreShare(localRank: 0, localSize: 2, onlineCores: 2, allowedCores: 2).threads, 1)
        XCTAssertEqual(CoreShare(localRank: 3, localSize: 4, onlineCores: 2, allowedCores: 2).threads, 1, "never fewer than one")
        // Uneven: 7 cores over 3 ranks is 3, 2, 2.
        XCTAssertEqual((0..<3).map { CoreShare(localRank: $0, localSize: 3, onlineCores: 7, allowedCores: 7).threads }, [3, 2, 2])
    }

    func testABindingChosenByTheLauncherIsKept() {
        // Open MPI binds each of two ranks to one core: that core is the rank's share.
        let bound = CoreShare(localRank: 1, localSize: 2, onlineCores: 8, allowedCores: 1)
        XCTAssertEqual(bound.threads, 1)
        XCTAssertTrue(bound.reason.contains("bound"), bound.reason)
        XCTAssertEqual(CoreShare(localRank: 0, localSize: 2, onlineCores: 8, allowedCores: 4).threads, 4)
    }

    func testTheLauncherIsRecognisedByItsEnvironment() {
        XCTAssertFalse(Communicator.isLaunched(environment: ["PATH": "/usr/bin"]))
        XCTAssertNil(Communicator.launchRank(environment: [:]))
        XCTAssertTrue(Communicator.isLaunched(environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]))
        XCTAssertEqual(Communicator.launchRank(environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]), 1)
        XCTAssertEqual(Communicator.launchRank(environment: ["PMIX_RANK": "3"]), 3)
    }

    func testABadTimeoutIsRefusedBeforeMPIIsLoaded() {
        for text in ["0", "-4", "soon", "inf"] {
            XCTAssertThrowsError(try Communicator(environment: [Communicator.timeoutVariable: text])) { error in
                XCTAssertTrue("\(error)".contains("KILN_MPI_TIMEOUT=\(text)"), "\(error)")
            }
        }
    }

    func testAMissingLibraryIsNamed() {
        XCTAssertThrowsError(try Communicator(environment: [Communicator.libraryVariable: "/nonexistent/libmpi.so"])) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/libmpi.so"), "\(error)")
            XCTAssertTrue("\(error)".contains("openmpi-bin"), "says what to install: \(error)")
        }
    }
}
