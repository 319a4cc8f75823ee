// The dumbbell both ns-3 reference programs use (fidelity.cc for the simulator's fidelity table,
// zoo.cc for the algorithm zoo): N senders, each on its own access link to one router, and one
// bottleneck link from the router to one receiver, with bulk TCP flows from every sender to a
// packet sink on the receiver. The bottleneck's buffer is set by the caller: either the device's
// own drop-tail queue (no qdisc), or a queue disc installed by `configureBottleneck`.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

namespace dumbbell {

using namespace ns3;

// TCP defaults shared by both programs: the congestion control type, segment size (1448: a
// 1500-byte IP packet with timestamps), initial window 10, large socket buffers, SACK on.
inline void SetTcpDefaults(const std::string &typeId, uint32_t segment, uint32_t bufferBytes) {
  Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TypeId::LookupByName(typeId)));
  Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(segment));
  Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
  Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(bufferBytes));
  Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(bufferBytes));
  Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(true));
}

struct Spec {
  uint32_t senders = 1;
  DataRate accessRate = DataRate("1Gbps");
  Time accessDelay = MicroSeconds(500);
  DataRate rate = DataRate("48Mbps");
  Time bottleneckDelay = MilliSeconds(24);
  // the bottleneck device's own queue, e.g. "200p"
  std::string deviceQueue = "1p";
  // true: no queue disc on the bottleneck (the device queue is the buffer); false: the caller's
  // configureBottleneck installs one
  bool noQdisc = false;
};

struct Net {
  NodeContainer senders;
  Ptr<Node> router;
  Ptr<Node> receiver;
  std::vector<NetDeviceContainer> access; // [i]: sender i's device, the router's device
  NetDeviceContainer bottleneck;          // the router's device, the receiver's device
  Ipv4Address receiverAddress;
};

// Build the topology. `configureBottleneck` runs before addresses are assigned (install a queue
// disc there, or attach traces to the devices).
inline Net Build(const Spec &s, const std::function<void(NetDeviceContainer &)> &configureBottleneck = {}) {
  Net n;
  n.senders.Create(s.senders);
  NodeContainer others;
  others.Create(2);
  n.router = others.Get(0);
  n.receiver = others.Get(1);
  PointToPointHelper access;
  access.SetDeviceAttribute("DataRate", DataRateValue(s.accessRate));
  access.SetChannelAttribute("Delay", TimeValue(s.accessDelay));
  PointToPointHelper bottleneck;
  bottleneck.SetDeviceAttribute("DataRate", DataRateValue(s.rate));
  bottleneck.SetChannelAttribute("Delay", TimeValue(s.bottleneckDelay));
  bottleneck.SetQueue("ns3::DropTailQueue", "MaxSize", QueueSizeValue(QueueSize(s.deviceQueue)));
  for (uint32_t i = 0; i < s.senders; i++) n.access.push_back(access.Install(n.senders.Get(i), n.router));
  n.bottleneck = bottleneck.Install(n.router, n.receiver);

  InternetStackHelper stack;
  stack.InstallAll();
  if (configureBottleneck) configureBottleneck(n.bottleneck);
  Ipv4AddressHelper addr;
  for (uint32_t i = 0; i < s.senders; i++) {
    std::string net = "10.1." + std::to_string(i + 1) + ".0";
    addr.SetBase(net.c_str(), "255.255.255.0");
    addr.Assign(n.access[i]);
  }
  addr.SetBase("10.2.1.0", "255.255.255.0");
  n.receiverAddress = addr.Assign(n.bottleneck).GetAddress(1);
  if (s.noQdisc) {
    TrafficControlHelper tch;
    tch.Uninstall(n.bottleneck);
  }
  Ipv4GlobalRoutingHelper::PopulateRoutingTables();
  return n;
}

// One unlimited bulk flow from every sender to its own sink port (5000 + i) on the receiver,
// all starting at `start`. Returns the sinks, in sender order.
inline std::vector<Ptr<PacketSink>> BulkFlows(const Net &n, Time start = Seconds(0)) {
  std::vector<Ptr<PacketSink>> sinks;
  for (uint32_t i = 0; i < n.senders.GetN(); i++) {
    uint16_t port = 5000 + i;
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sa = sink.Install(n.receiver);
    sa.Start(start);
    sinks.push_back(DynamicCast<PacketSink>(sa.Get(0)));
    BulkSendHelper src("ns3::TcpSocketFactory", InetSocketAddress(n.receiverAddress, port));
    src.SetAttribute("MaxBytes", UintegerValue(0));
    src.Install(n.senders.Get(i)).Start(start);
  }
  return sinks;
}

} // namespace dumbbell
