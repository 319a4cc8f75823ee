// ns-3 reference for the simulator's fidelity benchmark (bench/sim/fidelity.ts): N bulk TCP
// flows (TcpCubic, TcpNewReno or TcpLinuxReno) over the dumbbell of dumbbell.h. Each sender has its own access
// link (the NIC rate) to a router; the router's bottleneck link has a drop-tail queue of
// `bufferPkts` packets (no qdisc); random loss, if any, is a receive error model on the far end of
// the bottleneck, i.e. after the queue. Segment 1448 bytes (1500-byte IP packets with timestamps),
// ns-3's default delayed ACKs (every 2nd segment, 200 ms timer), SACK on. TcpCubic's HyStart is on
// by default, as in ns-3 and Linux; --hystart=0 turns it off. Prints one JSON line.
//
//   fidelity --alg=cubic|newreno|linuxreno --flows=1 --rateMbps=48 --rttMs=50 --bufferPkts=200
//            --accessMbps=1000 --loss=0 --duration=20 --warmup=5 --seed=1 --hystart=1
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dumbbell.h"

using namespace ns3;

static uint64_t g_tailDrops = 0;
static uint64_t g_tailDropsSlowStart = 0;
static uint64_t g_randomDrops = 0;
static double g_slowStartEnd = 3.0;

static void OnRxError(Ptr<const Packet>) { g_randomDrops++; }
static uint64_t g_routerRx = 0;
static uint64_t g_bottleneckTx = 0;
static void OnRouterRx(Ptr<const Packet>) { g_routerRx++; }
static void OnBottleneckTx(Ptr<const Packet>) { g_bottleneckTx++; }

int main(int argc, char **argv) {
  std::string alg = "cubic";
  uint32_t flows = 1, bufferPkts = 200, seed = 1;
  bool hystart = true;
  double rateMbps = 48, rttMs = 50, accessMbps = 1000, loss = 0, duration = 20, warmup = 5;
  CommandLine cmd;
  cmd.AddValue("alg", "cubic, newreno or linuxreno (Reno counting acked segments, as Linux does)", alg);
  cmd.AddValue("flows", "number of flows", flows);
  cmd.AddValue("rateMbps", "bottleneck rate", rateMbps);
  cmd.AddValue("rttMs", "propagation RTT", rttMs);
  cmd.AddValue("bufferPkts", "bottleneck queue, packets", bufferPkts);
  cmd.AddValue("accessMbps", "sender NIC / access link rate", accessMbps);
  cmd.AddValue("loss", "random loss probability per packet after the queue", loss);
  cmd.AddValue("duration", "simulated seconds", duration);
  cmd.AddValue("warmup", "metrics window starts here (s)", warmup);
  cmd.AddValue("slowStartEnd", "tail drops before this time count as slow-start drops (s)", g_slowStartEnd);
  cmd.AddValue("seed", "RNG run number", seed);
  cmd.AddValue("hystart", "TcpCubic's HyStart (ns-3's default: on)", hystart);
  cmd.Parse(argc, argv);
  RngSeedManager::SetSeed(1);
  RngSeedManager::SetRun(seed);

  std::string tid = alg == "newreno" ? "ns3::TcpNewReno" : alg == "linuxreno" ? "ns3::TcpLinuxReno" : "ns3::TcpCubic";
  dumbbell::SetTcpDefaults(tid, 1448, 8 << 20);
  Config::SetDefault("ns3::TcpCubic::HyStart", BooleanValue(hystart));

  // one-way delays: access 0.5 ms each way is part of the RTT; the bottleneck carries the rest
  dumbbell::Spec spec;
  spec.senders = flows;
  spec.accessRate = DataRate(uint64_t(accessMbps * 1e6));
  spec.accessDelay = MicroSeconds(500);
  spec.rate = DataRate(uint64_t(rateMbps * 1e6));
  spec.bottleneckDelay = MicroSeconds(int64_t((rttMs / 2 - 0.5) * 1000));
  spec.deviceQueue = std::to_string(bufferPkts) + "p";
  spec.noQdisc = true; // the device's drop-tail queue is the bottleneck buffer
  dumbbell::Net net = dumbbell::Build(spec);
  for (uint32_t i = 0; i < flows; i++)
    net.access[i].Get(1)->TraceConnectWithoutContext("PhyRxEnd", MakeCallback(&OnRouterRx));
  Ptr<PointToPointNetDevice> bdev = DynamicCast<PointToPointNetDevice>(net.bottleneck.Get(0));
  bdev->TraceConnectWithoutContext("PhyTxEnd", MakeCallback(&OnBottleneckTx));
  if (loss > 0) {
    Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
    em->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
    em->SetAttribute("ErrorRate", DoubleValue(loss));
    net.bottleneck.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em));
    net.bottleneck.Get(1)->TraceConnectWithoutContext("PhyRxDrop", MakeCallback(&OnRxError));
  }
  std::vector<Ptr<PacketSink>> sinks = dumbbell::BulkFlows(net);
  // drops at the router, by conservation: packets in, minus packets out, minus packets queued
  // (counted this way because where ns-3 drops depends on its queue/qdisc wiring)
  auto dropsNow = [&]() { return g_routerRx - g_bottleneckTx - bdev->GetQueue()->GetNPackets() - (g_bottleneckTx < g_routerRx ? 1 : 0); };
  Simulator::Schedule(Seconds(g_slowStartEnd), [&]() { g_tailDropsSlowStart = dropsNow(); });
  std::vector<uint64_t> atWarmup(flows, 0);
  Simulator::Schedule(Seconds(warmup), [&]() {
    for (uint32_t i = 0; i < flows; i++) atWarmup[i] = sinks[i]->GetTotalRx();
  });
  Simulator::Stop(Seconds(duration));
  auto t0 = std::chrono::steady_clock::now();
  Simulator::Run();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("{\"alg\":\"%s\",\"flows\":[", alg.c_str());
  for (uint32_t i = 0; i < flows; i++) {
    double all = sinks[i]->GetTotalRx() * 8.0 / duration;
    double win = (sinks[i]->GetTotalRx() - atWarmup[i]) * 8.0 / (duration - warmup);
    std::printf("%s{\"goodputBps\":%.0f,\"windowGoodputBps\":%.0f}", i ? "," : "", all, win);
  }
  g_tailDrops = dropsNow();
  std::printf("],\"tailDrops\":%llu,\"slowStartDrops\":%llu,\"randomDrops\":%llu,\"sentPkts\":%llu,\"wallS\":%.3f}\n",
              (unsigned long long)g_tailDrops, (unsigned long long)g_tailDropsSlowStart,
              (unsigned long long)g_randomDrops, (unsigned long long)g_routerRx, wall);
  Simulator::Destroy();
  return 0;
}
