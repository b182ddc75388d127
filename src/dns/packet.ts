/**
 * The DNS wire-format library, typed (owns: the single import of `npm:dns-packet`).
 * Other modules import `dnsPacket` from here so the type source is declared once.
 */
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";

export { dnsPacket };
export type { Answer, Packet, Question } from "dns-packet";
